import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseX12 } from '../src/edi/x12';
import { numeric } from '../src/edi/x12-values';

// Real 850 files from public parsers' test suites (origins and licences in
// test/fixtures/x12/README.md), and what senders do to them: wrap them at 80 columns, concatenate
// interchanges with different delimiters, cut them short. Every interchange and transaction set is
// parsed, or the file is refused with a message naming the segment.

const fixture = (name: string) => readFileSync(new URL(`./fixtures/x12/${name}`, import.meta.url), 'utf8');
const NODE_X12 = fixture('node-x12-850.edi');
const LINE_TERMINATED = fixture('node-x12-850_2.edi');
const FAT = fixture('node-x12-850_fat.edi');
const EDI_NET = fixture('edi-net-x12.850.edi');
const Y1995 = fixture('edicat-850-003040.edi');
const NOW = { now: new Date('2026-06-01T00:00:00Z') };

const orders = (text: string) =>
  parseX12(text, NOW).purchase_orders.map((po) => [po.purchase_order_number, po.line_items.length]);

describe('real 850 files', () => {
  it('node-x12 850.edi: six line items, the envelope and the summary all read', () => {
    const parsed = parseX12(NODE_X12, NOW);
    expect(parsed.interchanges).toMatchObject([
      {
        sender_id: '4405197800',
        receiver_id: '999999999',
        control_number: '000003438',
        date: '2010-11-27',
        version: '00400',
        functional_groups: [
          { functional_id: 'PO', control_number: '1421', version: '004010VICS', transaction_sets: 1 },
        ],
      },
    ]);
    const [po] = parsed.purchase_orders;
    expect(po).toMatchObject({
      control_number: '000000010',
      interchange_control_number: '000003438',
      group_control_number: '1421',
      purchase_order_number: '08292233294',
      order_date: '2010-11-27',
      line_item_count: 6,
      dates: [{ qualifier: '002', date: '2010-12-14' }],
    });
    expect(po!.line_items.map((l) => [l.line_number, l.quantity, l.unit_price])).toEqual([
      ['1', 120, 9.25],
      ['2', 220, 13.79],
      ['3', 126, 10.99],
      ['4', 76, 4.35],
      ['5', 72, 7.5],
      ['6', 696, 9.55],
    ]);
  });

  it('line breaks as the only terminator (850_2.edi) read the same order', () => {
    expect(parseX12(LINE_TERMINATED, NOW).purchase_orders).toEqual(parseX12(NODE_X12, NOW).purchase_orders);
  });

  it('a file wrapped at 80 columns reads the same order', () => {
    const flat = NODE_X12.replace(/\n/g, '');
    for (const lineBreak of ['\r\n', '\n']) {
      const wrapped = flat.match(/.{1,80}/gs)!.join(lineBreak);
      expect(wrapped.split(lineBreak)[1]).toHaveLength(80);
      expect(parseX12(wrapped, NOW).purchase_orders).toEqual(parseX12(NODE_X12, NOW).purchase_orders);
    }
  });

  it('a second interchange with other terminators is read, not dropped (node-x12 returned one order)', () => {
    expect(orders(`${NODE_X12}\n${LINE_TERMINATED}`)).toEqual([
      ['08292233294', 6],
      ['08292233294', 6],
    ]);
    expect(parseX12(FAT, NOW).interchanges).toHaveLength(2);
  });

  it('several interchanges with different delimiters in one file: each read with its own', () => {
    const pipes = NODE_X12.replace(/\*/g, '|').replace(/~(\n|$)/g, '!\r\n');
    const text = [LINE_TERMINATED, Y1995, pipes].join('');
    const parsed = parseX12(text, NOW);
    expect(parsed.interchanges.map((i) => [i.control_number, i.date])).toEqual([
      ['000003438', '2010-11-27'],
      ['000000005', '1995-01-20'],
      ['000003438', '2010-11-27'],
    ]);
    expect(parsed.purchase_orders.map((p) => p.purchase_order_number)).toEqual([
      '08292233294',
      '95018017',
      '08292233294',
    ]);
  });

  it('a 1995 interchange stays in 1995 (six-digit dates are not read as 2095)', () => {
    const parsed = parseX12(Y1995, NOW);
    expect(parsed.interchanges[0]).toMatchObject({ date: '1995-01-20', functional_groups: [{ date: '1995-01-20' }] });
    const [po] = parsed.purchase_orders;
    // This sample writes its order date one element late (BEG06; BEG05 is the date in 003040, as
    // bots-grammars' records003040 has it): BEG05 is empty, so no order date is made up.
    expect(po).toMatchObject({ purchase_order_number: '95018017', order_date: null, line_item_count: 1 });
    expect(po!.parties.map((p) => p.entity_code)).toEqual(['SE', 'ST', 'AK', 'BT']);
    expect(po!.line_items[0]!.other_segments).toEqual([
      { tag: 'SCH', elements: ['4', 'EA', '', '', '', '002', '950322'] },
    ]);
  });

  it('the century of ISA09 comes from GS04 when the group dates are CCYYMMDD', () => {
    const text = NODE_X12.replace('*101127*1719*', '*991231*2359*').replace('*20101127*1719*', '*20000103*0001*');
    expect(parseX12(text, { now: new Date('2070-01-01') }).interchanges[0]!.date).toBe('1999-12-31');
  });
});

describe('files that are refused, naming the segment', () => {
  it('no prefix of a real file parses: a file cut anywhere is refused, never read with lines missing', () => {
    const end = NODE_X12.lastIndexOf('IEA*1*000003438') + 'IEA*1*000003438'.length;
    for (let cut = 1; cut < end; cut++) {
      expect(() => parseX12(NODE_X12.slice(0, cut), NOW), `cut at ${cut}`).toThrow();
    }
    expect(() => parseX12(NODE_X12.slice(0, NODE_X12.indexOf('PO1*4')), NOW)).toThrow(
      'interchange 1 (ISA13 000003438): the file ends after segment 23 (PO4), inside transaction set 000000010 (ST at segment 3): SE, GE and IEA are missing; it looks cut short',
    );
  });

  it('a missing GE or IEA is named', () => {
    expect(() => parseX12(NODE_X12.replace('GE*1*1421~\n', ''), NOW)).toThrow(
      'interchange 1 (ISA13 000003438), segment 36 (IEA): functional group 1421 (GS at segment 2) expects ST or GE here',
    );
    expect(() => parseX12(NODE_X12.replace('IEA*1*000003438~', ''), NOW)).toThrow(
      /ends after segment 36 \(GE\), before its IEA/,
    );
    // A missing IEA before the next interchange.
    expect(() => parseX12(NODE_X12.replace('IEA*1*000003438~', '') + LINE_TERMINATED, NOW)).toThrow(
      'interchange 1, segment 37: an ISA segment starts before an IEA closed interchange 1',
    );
  });

  it('EDI.Net x12.850.edi: IEA02 does not match ISA13', () => {
    expect(() => parseX12(EDI_NET, NOW)).toThrow(
      'interchange 1 (ISA13 000000055), segment 15 (IEA): IEA02 000000001 does not match ISA13 000000055',
    );
    expect(parseX12(EDI_NET.replace('IEA*1*000000001', 'IEA*1*000000055'), NOW).purchase_orders).toHaveLength(1);
  });

  it.each([
    [
      'SE01 segment count',
      ['SE*33*', 'SE*32*'],
      'segment 35 (SE): SE01 says 32 segments, transaction set 000000010 has 33',
    ],
    ['SE02 control number', ['SE*33*000000010', 'SE*33*000000011'], 'SE02 000000011 does not match ST02 000000010'],
    [
      'GE01 count',
      ['GE*1*1421', 'GE*2*1421'],
      'segment 36 (GE): GE01 says 2 transaction sets, functional group 1421 has 1',
    ],
    ['GE02 control number', ['GE*1*1421', 'GE*1*1422'], 'GE02 1422 does not match GS06 1421'],
    ['IEA01 count', ['IEA*1*', 'IEA*2*'], 'IEA01 says 2 functional groups, the interchange has 1'],
    ['IEA02 control number', ['IEA*1*000003438', 'IEA*1*000003439'], 'IEA02 000003439 does not match ISA13 000003438'],
    ['CTT01 line item count', ['CTT*6', 'CTT*7'], 'CTT01 says 7 line items, the transaction set has 6 PO1 segments'],
    [
      'a segment outside its transaction set',
      ['GE*1*1421', 'REF*DP*038~\nGE*1*1421'],
      'segment 36 (REF): functional group 1421 (GS at segment 2) expects ST or GE here',
    ],
  ])('%s is checked', (_name, [from, to], message) => {
    expect(() => parseX12(NODE_X12.replace(from!, to!), NOW)).toThrow(message);
  });

  it('two transaction sets with one ST02 in a group are refused', () => {
    const lines = NODE_X12.split('\n');
    const set = lines.slice(2, 35);
    const text = [...lines.slice(0, 35), ...set, 'GE*2*1421~', lines[36]].join('\n');
    expect(() => parseX12(text, NOW)).toThrow('ST02 000000010 repeats within functional group 1421');
  });

  it('an ISA without its component separator (ISA16) is named', () => {
    // As EDI.Net's x12.850.issue135.edi has it: "…*T*~" and a line break, ISA16 left out.
    const text = NODE_X12.replace('*P*>~\n', '*P*~\n');
    expect(() => parseX12(text, NOW)).toThrow(
      /segment 2: segments end with "~", which the ISA declares as its component separator \(ISA16\): ISA16 is missing/,
    );
  });

  it('an element longer than any X12 element is refused before any pattern sees it', () => {
    const hostile = NODE_X12.replace('PO1*1*120*', `PO1*1*${'9'.repeat(150_000)}x*`);
    expect(() => parseX12(hostile, NOW)).toThrow(
      'interchange 1, segment 15 (PO1): element PO102 is 150001 characters long, over the limit of 4096',
    );
    // The number pattern itself is linear: a long run of digits ending in a letter is no number.
    expect(numeric({ tag: 'PO1', elements: ['1', `${'9'.repeat(4000)}x`] }, 2)).toBeNull();
    expect(numeric({ tag: 'PO1', elements: ['1', '-12.50'] }, 2)).toBe(-12.5);
  });

  it('DOS end-of-file marks and NUL padding after the last IEA are not data', () => {
    expect(orders(`${NODE_X12}\r\n\x1a\x00\x00`)).toEqual([['08292233294', 6]]);
  });

  it('data after an IEA that is not an ISA is refused', () => {
    expect(() => parseX12(`${NODE_X12}\nGS*PO*1*2*20101127*1719*1*X*004010~`, NOW)).toThrow(
      'after the IEA of interchange 1 (segment 37) the file continues with something other than an ISA segment',
    );
  });
});
