import { X12SyntaxError, type PositionedSegment, type TokenizedInterchange } from './x12-tokenizer';
import { element, type Segment } from './x12-values';

// The X12 envelope, checked so that nothing inside it can go missing unnoticed:
//   ISA … (GS (ST … SE)* GE)* IEA
// ISA13 = IEA02 and IEA01 = number of groups; GS06 = GE02 and GE01 = number of transaction sets;
// ST02 = SE02 and SE01 = number of segments from ST to SE. Control numbers must be unique where
// X12 says so (GS06 in its interchange, ST02 in its group). A file cut anywhere — mid-transaction,
// before GE or before IEA — fails one of these checks, and the error names the segment.

export interface TransactionSet {
  /** ST01: 850, 860… */
  id: string;
  /** ST02 */
  controlNumber: string;
  /** The segments between ST and SE. */
  segments: Segment[];
}

export interface FunctionalGroup {
  /** The GS segment (GS01 functional id, GS04 date, GS06 control number, GS08 version…). */
  header: Segment;
  sets: TransactionSet[];
}

export interface CheckedInterchange {
  isa: Segment;
  groups: FunctionalGroup[];
  /** Interchange-level segments between groups (TA1 acknowledgments), kept as sent. */
  otherSegments: Segment[];
}

const DIGITS = /^\d{1,9}$/;
const ISA13 = /^\d{9}$/;
const ST02 = /^[A-Za-z0-9]{4,9}$/;
const ST01 = /^[0-9A-Z]{3}$/;

/** Checks one tokenized interchange's envelope; throws X12SyntaxError naming the failing segment. */
export function checkEnvelope(interchange: TokenizedInterchange, ordinal: number): CheckedInterchange {
  const segments = interchange.segments;
  const isa = segments[0]!;
  const isa13 = (isa.elements[12] ?? '').trim();
  const name = `interchange ${ordinal} (ISA13 ${isa13 || 'missing'})`;
  const fail = (segment: PositionedSegment, problem: string): never => {
    throw new X12SyntaxError(`${name}, segment ${segment.position} (${segment.tag}): ${problem}`);
  };
  if (!ISA13.test(isa13)) fail(isa, 'ISA13 (interchange control number) must be 9 digits');

  const result: CheckedInterchange = { isa, groups: [], otherSegments: [] };
  let group: (FunctionalGroup & { start: PositionedSegment; controls: Set<string> }) | undefined;
  let set: (TransactionSet & { start: PositionedSegment }) | undefined;
  const groupControls = new Set<string>();

  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const { tag } = segment;
    if (set) {
      if (tag === 'SE') {
        const count = element(segment, 1);
        const control = element(segment, 2);
        const actual = set.segments.length + 2;
        if (control !== set.controlNumber) {
          fail(segment, `SE02 ${control ?? '(empty)'} does not match ST02 ${set.controlNumber}`);
        }
        if (count === null || !DIGITS.test(count) || Number(count) !== actual) {
          fail(segment, `SE01 says ${count ?? '(empty)'} segments, transaction set ${set.controlNumber} has ${actual}`);
        }
        group!.sets.push({ id: set.id, controlNumber: set.controlNumber, segments: set.segments });
        set = undefined;
      } else if (tag === 'ST' || tag === 'GS' || tag === 'GE' || tag === 'IEA') {
        fail(
          segment,
          `transaction set ${set.controlNumber} (ST at segment ${set.start.position}) has no SE before this ${tag}`,
        );
      } else {
        set.segments.push({ tag, elements: segment.elements });
      }
      continue;
    }
    if (group) {
      if (tag === 'ST') {
        const id = element(segment, 1);
        const control = element(segment, 2);
        if (id === null || !ST01.test(id))
          fail(segment, 'ST01 (transaction set identifier) must be 3 letters or digits');
        if (control === null || !ST02.test(control))
          fail(segment, 'ST02 (control number) must be 4-9 letters or digits');
        if (group.controls.has(control!))
          fail(segment, `ST02 ${control} repeats within functional group ${element(group.header, 6)}`);
        group.controls.add(control!);
        set = { id: id!, controlNumber: control!, segments: [], start: segment };
      } else if (tag === 'GE') {
        const count = element(segment, 1);
        const control = element(segment, 2);
        const gs06 = element(group.header, 6)!;
        if (control === null || !DIGITS.test(control) || Number(control) !== Number(gs06)) {
          fail(segment, `GE02 ${control ?? '(empty)'} does not match GS06 ${gs06}`);
        }
        if (count === null || !DIGITS.test(count) || Number(count) !== group.sets.length) {
          fail(
            segment,
            `GE01 says ${count ?? '(empty)'} transaction sets, functional group ${gs06} has ${group.sets.length}`,
          );
        }
        result.groups.push({ header: group.header, sets: group.sets });
        group = undefined;
      } else {
        fail(
          segment,
          `functional group ${element(group.header, 6)} (GS at segment ${group.start.position}) expects ST or GE here`,
        );
      }
      continue;
    }
    if (tag === 'GS') {
      const control = element(segment, 6);
      if (control === null || !DIGITS.test(control)) fail(segment, 'GS06 (group control number) must be 1-9 digits');
      const key = String(Number(control));
      if (groupControls.has(key)) fail(segment, `GS06 ${control} repeats within the interchange`);
      groupControls.add(key);
      group = { header: { tag, elements: segment.elements }, sets: [], start: segment, controls: new Set() };
    } else if (tag === 'IEA') {
      const count = element(segment, 1);
      const control = element(segment, 2);
      if (control !== isa13) fail(segment, `IEA02 ${control ?? '(empty)'} does not match ISA13 ${isa13}`);
      if (count === null || !DIGITS.test(count) || Number(count) !== result.groups.length) {
        fail(
          segment,
          `IEA01 says ${count ?? '(empty)'} functional groups, the interchange has ${result.groups.length}`,
        );
      }
      return result;
    } else if (tag === 'TA1') {
      result.otherSegments.push({ tag, elements: segment.elements });
    } else {
      fail(segment, 'outside any functional group: expected GS or IEA');
    }
  }

  // The segments ran out before IEA: the file was cut (or its end is missing).
  const last = segments[segments.length - 1]!;
  const open = set
    ? `inside transaction set ${set.controlNumber} (ST at segment ${set.start.position}): SE, GE and IEA are missing`
    : group
      ? `inside functional group ${element(group.header, 6)} (GS at segment ${group.start.position}): GE and IEA are missing`
      : 'before its IEA';
  throw new X12SyntaxError(
    `${name}: the file ends after segment ${last.position} (${last.tag}), ${open}; it looks cut short`,
  );
}
