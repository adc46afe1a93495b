// X12 850 documents for the poll tests, built segment by segment so envelope counts and control
// numbers are always right (written here by hand, never with the gateway's own parser).

export interface PoLine {
  line: string;
  quantity: string;
  unit: string;
  price: string;
  upc?: string;
  vendorItem?: string;
  description?: string;
}

export interface PoSpec {
  poNumber: string;
  date?: string;
  lines?: PoLine[];
  controlNumber?: string;
}

const DEFAULT_LINES: PoLine[] = [
  {
    line: '1',
    quantity: '24',
    unit: 'CA',
    price: '12.50',
    upc: '012345678905',
    vendorItem: 'OATS-1KG',
    description: 'Organic rolled oats 1 kg',
  },
  { line: '2', quantity: '10', unit: 'EA', price: '3.75', upc: '012345678912' },
];

/** The segments of one 850 transaction set, ST to SE. */
function transactionSet(spec: PoSpec, controlNumber: string): string[] {
  const lines = spec.lines ?? DEFAULT_LINES;
  const body = [
    `BEG*00*SA*${spec.poNumber}**${spec.date ?? '20260105'}`,
    'CUR*BY*USD',
    'REF*DP*042',
    'REF*IA*VEND-7781',
    'PER*BD*Jane Buyer*TE*5551234567*EM*jane.buyer@example.com',
    'ITD*01*3*2**10**30*****2% 10 NET 30',
    'DTM*002*20260115',
    'DTM*010*20260112*0930',
    'TD5****M*UPS GROUND',
    'N9*L1*SPECIAL INSTRUCTIONS',
    'MSG*Deliver to dock 4',
    'N1*ST*Acme DC 7*92*0007',
    'N3*100 Main St*Building B',
    'N4*Springfield*IL*62701*US',
    'PER*DC*Dock Office*TE*5559876543',
    'N1*BT*Acme Foods Inc*92*0001',
    ...lines.flatMap((l) => [
      `PO1*${l.line}*${l.quantity}*${l.unit}*${l.price}*PE${l.upc ? `*UP*${l.upc}` : ''}${l.vendorItem ? `*VN*${l.vendorItem}` : ''}`,
      ...(l.description ? [`PID*F****${l.description}`] : []),
      'PO4*12*1*KG',
      'SAC*A*C310***1500**********Promo allowance',
    ]),
    `CTT*${lines.length}*${lines.reduce((sum, l) => sum + Number(l.quantity), 0)}`,
    `AMT*TT*${lines.reduce((sum, l) => sum + Number(l.quantity) * Number(l.price), 0).toFixed(2)}`,
  ];
  return [`ST*850*${controlNumber}`, ...body, `SE*${body.length + 2}*${controlNumber}`];
}

/** A complete interchange (ISA…IEA) with one functional group holding one 850 per spec. */
export function x12PurchaseOrders(
  specs: PoSpec[],
  opts: { interchangeControl?: string; terminator?: string } = {},
): string {
  const isa13 = (opts.interchangeControl ?? '000000101').padStart(9, '0');
  const sets = specs.flatMap((spec, i) => transactionSet(spec, spec.controlNumber ?? String(i + 1).padStart(4, '0')));
  const segments = [
    `ISA*00*          *00*          *ZZ*SPSCOMMERCE    *ZZ*ACMEFOODS      *260105*1200*U*00401*${isa13}*0*T*>`,
    'GS*PO*SPSCOMMERCE*ACMEFOODS*20260105*1200*101*X*004010',
    ...sets,
    `GE*${specs.length}*101`,
    `IEA*1*${isa13}`,
  ];
  const terminator = opts.terminator ?? '~\n';
  return segments.join(terminator) + terminator;
}

/** One purchase order, the common case. */
export const x12PurchaseOrder = (poNumber: string, lines?: PoLine[]) => x12PurchaseOrders([{ poNumber, lines }]);
