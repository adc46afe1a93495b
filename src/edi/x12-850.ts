import type {
  AllowanceCharge,
  Contact,
  DateTime,
  LineItem,
  Note,
  Party,
  PurchaseOrder,
  Reference,
} from './x12-850-model';
import { X12SyntaxError } from './x12-tokenizer';
import { element, numeric, x12Date, x12Time, type Segment } from './x12-values';

// X12 850 (Purchase Order) → JSON. Segments are grouped the way the 850 nests its loops: header
// segments, N9 (notes) and N1 (parties) loops, PO1 (line item) loops with their own PID, PO4, REF,
// DTM, SAC, N9 and N1, then the CTT/AMT summary. Element meanings follow 004010–008020, which agree
// on every element read here. Segments this mapping does not name are kept in `other_segments`, so
// nothing in the document is dropped silently (and the raw file is stored beside the JSON).
// One file over 250 lines on purpose: the loop grouping is one algorithm, and its per-loop helpers
// only make sense next to it.

/** Where a transaction set sits in its file, and the year that decides six-digit dates' century. */
export interface SetContext {
  controlNumber: string;
  interchangeControlNumber: string;
  groupControlNumber: string;
  referenceYear: number;
}

/**
 * Maps one 850 transaction set (its segments between ST and SE) to a PurchaseOrder. Throws
 * X12SyntaxError when CTT01 disagrees with the PO1 segments present: line items went missing.
 */
export function mapPurchaseOrder(segments: Segment[], context: SetContext): PurchaseOrder {
  const date = (value: string | null) => x12Date(value, context.referenceYear);
  const beg = segments.find((s) => s.tag === 'BEG');
  const order: PurchaseOrder = {
    transaction_set: '850',
    control_number: context.controlNumber,
    interchange_control_number: context.interchangeControlNumber,
    group_control_number: context.groupControlNumber,
    purpose_code: element(beg, 1),
    order_type_code: element(beg, 2),
    purchase_order_number: element(beg, 3),
    release_number: element(beg, 4),
    order_date: date(element(beg, 5)),
    contract_number: element(beg, 6),
    currency: null,
    references: [],
    dates: [],
    contacts: [],
    terms: [],
    carrier_details: [],
    allowances_charges: [],
    notes: [],
    parties: [],
    line_items: [],
    line_item_count: null,
    hash_total: null,
    total_amount: null,
    other_segments: [],
  };

  // The loop a segment belongs to is decided by the last loop-opening segment seen.
  let line: LineItem | undefined;
  let party: Party | undefined;
  let note: Note | undefined;
  let inSummary = false;

  for (const segment of segments) {
    const { tag } = segment;
    // Segments that open (or close) a loop.
    if (tag === 'PO1') {
      line = lineItem(segment);
      order.line_items.push(line);
      party = note = undefined;
      continue;
    }
    if (tag === 'CTT') {
      inSummary = true;
      line = party = note = undefined;
      order.line_item_count = numeric(segment, 1);
      order.hash_total = numeric(segment, 2);
      continue;
    }
    if (tag === 'N1') {
      party = newParty(segment);
      (line ? line.parties : order.parties).push(party);
      note = undefined;
      continue;
    }
    if (tag === 'N9') {
      note = { qualifier: element(segment, 1), reference: element(segment, 2), text: [] };
      (line ? line.notes : order.notes).push(note);
      party = undefined;
      continue;
    }
    if (tag === 'BEG') continue;

    // Segments inside the open N1 loop.
    if (party && addToParty(party, segment)) continue;
    if (note && tag === 'MSG') {
      if (element(segment, 1)) note.text.push(element(segment, 1)!);
      continue;
    }
    if (inSummary) {
      if (tag === 'AMT' && element(segment, 1) === 'TT') order.total_amount = numeric(segment, 2);
      else order.other_segments.push(segment);
      continue;
    }
    if (line) addToLine(line, segment, date);
    else addToHeader(order, segment, date);
  }
  if (order.line_item_count !== null && order.line_item_count !== order.line_items.length) {
    throw new X12SyntaxError(
      `interchange ${context.interchangeControlNumber}, transaction set ${context.controlNumber} (850): ` +
        `CTT01 says ${order.line_item_count} line items, the transaction set has ${order.line_items.length} PO1 segments`,
    );
  }
  return order;
}

type DateReader = (value: string | null) => string | null;

function lineItem(po1: Segment): LineItem {
  const productIds: LineItem['product_ids'] = [];
  for (let n = 6; n + 1 <= po1.elements.length; n += 2) {
    const qualifier = element(po1, n);
    const id = element(po1, n + 1);
    if (qualifier && id) productIds.push({ qualifier, id });
  }
  return {
    line_number: element(po1, 1),
    quantity: numeric(po1, 2),
    unit_of_measure: element(po1, 3),
    unit_price: numeric(po1, 4),
    price_basis: element(po1, 5),
    product_ids: productIds,
    descriptions: [],
    pack: null,
    references: [],
    dates: [],
    allowances_charges: [],
    notes: [],
    parties: [],
    other_segments: [],
  };
}

function addToHeader(order: PurchaseOrder, segment: Segment, date: DateReader): void {
  switch (segment.tag) {
    case 'CUR':
      order.currency = element(segment, 2);
      return;
    case 'REF':
      order.references.push(reference(segment));
      return;
    case 'DTM':
      order.dates.push(dateTime(segment, date));
      return;
    case 'PER':
      order.contacts.push(contact(segment));
      return;
    case 'SAC':
      order.allowances_charges.push(allowanceCharge(segment));
      return;
    case 'ITD':
      order.terms.push({
        type_code: element(segment, 1),
        basis_date_code: element(segment, 2),
        discount_percent: numeric(segment, 3),
        discount_due_date: date(element(segment, 4)),
        discount_days_due: numeric(segment, 5),
        net_due_date: date(element(segment, 6)),
        net_days: numeric(segment, 7),
        description: element(segment, 12),
      });
      return;
    case 'TD5':
      order.carrier_details.push({
        routing_sequence: element(segment, 1),
        id_qualifier: element(segment, 2),
        id: element(segment, 3),
        transport_method: element(segment, 4),
        routing: element(segment, 5),
      });
      return;
    case 'NTE':
      order.notes.push({ qualifier: element(segment, 1), reference: null, text: [element(segment, 2) ?? ''] });
      return;
    default:
      order.other_segments.push(segment);
  }
}

function addToLine(line: LineItem, segment: Segment, date: DateReader): void {
  switch (segment.tag) {
    case 'PID':
      if (element(segment, 5)) line.descriptions.push(element(segment, 5)!);
      return;
    case 'PO4':
      line.pack = { inner_pack: numeric(segment, 1), size: numeric(segment, 2), unit_of_measure: element(segment, 3) };
      return;
    case 'REF':
      line.references.push(reference(segment));
      return;
    case 'DTM':
      line.dates.push(dateTime(segment, date));
      return;
    case 'SAC':
      line.allowances_charges.push(allowanceCharge(segment));
      return;
    case 'NTE':
      line.notes.push({ qualifier: element(segment, 1), reference: null, text: [element(segment, 2) ?? ''] });
      return;
    default:
      line.other_segments.push(segment);
  }
}

function newParty(n1: Segment): Party {
  return {
    entity_code: element(n1, 1),
    name: element(n1, 2),
    id_qualifier: element(n1, 3),
    id: element(n1, 4),
    additional_names: [],
    address_lines: [],
    city: null,
    state: null,
    postal_code: null,
    country: null,
    references: [],
    contacts: [],
  };
}

/** N2, N3, N4, REF and PER after an N1 belong to that party. Returns false for anything else. */
function addToParty(party: Party, segment: Segment): boolean {
  switch (segment.tag) {
    case 'N2':
      party.additional_names.push(...[element(segment, 1), element(segment, 2)].filter((v): v is string => v !== null));
      return true;
    case 'N3':
      party.address_lines.push(...[element(segment, 1), element(segment, 2)].filter((v): v is string => v !== null));
      return true;
    case 'N4':
      party.city = element(segment, 1);
      party.state = element(segment, 2);
      party.postal_code = element(segment, 3);
      party.country = element(segment, 4);
      return true;
    case 'REF':
      party.references.push(reference(segment));
      return true;
    case 'PER':
      party.contacts.push(contact(segment));
      return true;
    default:
      return false;
  }
}

const reference = (s: Segment): Reference => ({
  qualifier: element(s, 1),
  value: element(s, 2),
  description: element(s, 3),
});

const dateTime = (s: Segment, date: DateReader): DateTime => ({
  qualifier: element(s, 1),
  date: date(element(s, 2)),
  time: x12Time(element(s, 3)),
});

function contact(s: Segment): Contact {
  const communications: Contact['communications'] = [];
  for (const n of [3, 5, 7]) {
    const qualifier = element(s, n);
    const value = element(s, n + 1);
    if (qualifier && value) communications.push({ qualifier, value });
  }
  return { function_code: element(s, 1), name: element(s, 2), communications };
}

function allowanceCharge(s: Segment): AllowanceCharge {
  const cents = numeric(s, 5);
  return {
    indicator: element(s, 1),
    code: element(s, 2),
    amount: cents === null ? null : cents / 100,
    percent: numeric(s, 8),
    description: element(s, 15),
  };
}
