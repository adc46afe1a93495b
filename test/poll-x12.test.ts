import { describe, expect, it } from 'vitest';
import { toPolledDocument } from '../src/poll/document';
import { parseX12 } from '../src/edi/x12';
import { x12PurchaseOrder, x12PurchaseOrders } from './helpers/poll-x12';

const file = (name: string) => ({ path: `out/${name}`, name });
const payload = (body: Buffer) => JSON.parse(body.toString('utf8'));

describe('X12 850 parser', () => {
  it('maps a purchase order: header, references, dates, terms, parties and line items', () => {
    const parsed = parseX12(x12PurchaseOrder('PO-4500012345'));
    expect(parsed.interchanges).toEqual([
      {
        sender_qualifier: 'ZZ',
        sender_id: 'SPSCOMMERCE',
        receiver_qualifier: 'ZZ',
        receiver_id: 'ACMEFOODS',
        date: '2026-01-05',
        time: '12:00',
        control_number: '000000101',
        version: '00401',
        usage_indicator: 'T',
        functional_groups: [
          {
            functional_id: 'PO',
            sender_id: 'SPSCOMMERCE',
            receiver_id: 'ACMEFOODS',
            date: '2026-01-05',
            time: '12:00',
            control_number: '101',
            version: '004010',
            transaction_sets: 1,
          },
        ],
        other_segments: [],
      },
    ]);
    expect(parsed.other_transactions).toEqual([]);
    const [po] = parsed.purchase_orders;
    expect(po).toMatchObject({
      transaction_set: '850',
      control_number: '0001',
      interchange_control_number: '000000101',
      group_control_number: '101',
      purpose_code: '00',
      order_type_code: 'SA',
      purchase_order_number: 'PO-4500012345',
      order_date: '2026-01-05',
      currency: 'USD',
      references: [
        { qualifier: 'DP', value: '042', description: null },
        { qualifier: 'IA', value: 'VEND-7781', description: null },
      ],
      contacts: [
        {
          function_code: 'BD',
          name: 'Jane Buyer',
          communications: [
            { qualifier: 'TE', value: '5551234567' },
            { qualifier: 'EM', value: 'jane.buyer@example.com' },
          ],
        },
      ],
      terms: [
        {
          type_code: '01',
          basis_date_code: '3',
          discount_percent: 2,
          discount_days_due: 10,
          net_days: 30,
          description: '2% 10 NET 30',
        },
      ],
      dates: [
        { qualifier: '002', date: '2026-01-15', time: null },
        { qualifier: '010', date: '2026-01-12', time: '09:30' },
      ],
      carrier_details: [{ transport_method: 'M', routing: 'UPS GROUND' }],
      notes: [{ qualifier: 'L1', reference: 'SPECIAL INSTRUCTIONS', text: ['Deliver to dock 4'] }],
      parties: [
        {
          entity_code: 'ST',
          name: 'Acme DC 7',
          id_qualifier: '92',
          id: '0007',
          address_lines: ['100 Main St', 'Building B'],
          city: 'Springfield',
          state: 'IL',
          postal_code: '62701',
          country: 'US',
          contacts: [
            { function_code: 'DC', name: 'Dock Office', communications: [{ qualifier: 'TE', value: '5559876543' }] },
          ],
        },
        { entity_code: 'BT', name: 'Acme Foods Inc', id: '0001', address_lines: [] },
      ],
      line_item_count: 2,
      hash_total: 34,
      total_amount: 337.5,
      other_segments: [],
    });
    expect(po!.line_items).toHaveLength(2);
    expect(po!.line_items[0]).toEqual({
      line_number: '1',
      quantity: 24,
      unit_of_measure: 'CA',
      unit_price: 12.5,
      price_basis: 'PE',
      product_ids: [
        { qualifier: 'UP', id: '012345678905' },
        { qualifier: 'VN', id: 'OATS-1KG' },
      ],
      descriptions: ['Organic rolled oats 1 kg'],
      pack: { inner_pack: 12, size: 1, unit_of_measure: 'KG' },
      references: [],
      dates: [],
      // SAC05 has two implied decimals: 1500 is 15.00.
      allowances_charges: [{ indicator: 'A', code: 'C310', amount: 15, percent: null, description: 'Promo allowance' }],
      notes: [],
      parties: [],
      other_segments: [],
    });
    expect(po!.line_items[1]).toMatchObject({
      line_number: '2',
      quantity: 10,
      unit_price: 3.75,
      descriptions: [],
      product_ids: [{ qualifier: 'UP', id: '012345678912' }],
    });
  });

  it('reads several purchase orders from one interchange, and any segment terminator', () => {
    const text = x12PurchaseOrders([{ poNumber: 'PO-1' }, { poNumber: 'PO-2' }, { poNumber: 'PO-3' }], {
      terminator: '\n',
    });
    const parsed = parseX12(text);
    expect(parsed.purchase_orders.map((p) => [p.purchase_order_number, p.control_number])).toEqual([
      ['PO-1', '0001'],
      ['PO-2', '0002'],
      ['PO-3', '0003'],
    ]);
  });

  it('takes its delimiters from the ISA header: CRLF, "|" separators, a BOM, two interchanges in one file', () => {
    const base = x12PurchaseOrder('PO-1');
    for (const text of [base.replace(/~\n/g, '~\r\n'), base.replace(/\*/g, '|'), `\uFEFF\n${base}`]) {
      expect(parseX12(text).purchase_orders.map((p) => p.purchase_order_number)).toEqual(['PO-1']);
    }
    const twice = parseX12(base + x12PurchaseOrders([{ poNumber: 'PO-2' }], { interchangeControl: '102' }));
    expect(twice.interchanges.map((i) => i.control_number)).toEqual(['000000101', '000000102']);
    expect(twice.purchase_orders.map((p) => p.purchase_order_number)).toEqual(['PO-1', 'PO-2']);
  });

  it('keeps segments it does not map, so nothing is dropped silently', () => {
    const text = x12PurchaseOrder('PO-9')
      .replace('CUR*BY*USD', 'CUR*BY*USD~\nFOB*PP*OR*ORIGIN')
      .replace(/SE\*(\d+)\*/, (_, n: string) => `SE*${Number(n) + 1}*`);
    const [po] = parseX12(text).purchase_orders;
    expect(po!.other_segments).toEqual([{ tag: 'FOB', elements: ['PP', 'OR', 'ORIGIN'] }]);
  });

  it('a wrong segment count in SE is an invalid document', () => {
    const text = x12PurchaseOrder('PO-1').replace(/SE\*\d+\*0001/, 'SE*99*0001');
    expect(() => parseX12(text)).toThrow(/SE01/);
  });
});

describe('polled file → event document', () => {
  it('an 850 becomes topic x12/850 with the raw file kept byte for byte next to the parsed JSON', () => {
    const raw = x12PurchaseOrder('PO-77');
    const doc = toPolledDocument(file('PO_77.edi'), Buffer.from(raw), 'sps-rest');
    expect(doc.topic).toBe('x12/850');
    expect(doc.parseError).toBeUndefined();
    const body = payload(doc.body);
    expect(body.file).toMatchObject({
      path: 'out/PO_77.edi',
      name: 'PO_77.edi',
      size: raw.length,
      encoding: 'utf8',
      content: raw,
    });
    expect(body.file.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(body.format).toBe('x12');
    expect(body.purchase_orders[0].purchase_order_number).toBe('PO-77');
  });

  it('an X12 file that does not parse is still stored, as x12/invalid with the reason', () => {
    const raw = x12PurchaseOrder('PO-1').replace('IEA*1', 'IEA*7');
    const doc = toPolledDocument(file('bad.edi'), Buffer.from(raw), 'sps-rest');
    expect(doc.topic).toBe('x12/invalid');
    expect(doc.parseError).toMatch(/IEA01/);
    expect(payload(doc.body)).toMatchObject({ format: 'x12', parse_error: doc.parseError, file: { content: raw } });
  });

  it('other transaction sets are kept segment by segment under their own topic', () => {
    const raw = x12PurchaseOrder('PO-1').replace('ST*850*0001', 'ST*860*0001').replace('GS*PO', 'GS*PC');
    const doc = toPolledDocument(file('change.edi'), Buffer.from(raw), 'sps-rest');
    expect(doc.topic).toBe('x12/860');
    const body = payload(doc.body);
    expect(body.purchase_orders).toEqual([]);
    expect(body.other_transactions[0]).toMatchObject({
      transaction_set: '860',
      control_number: '0001',
      segments: expect.arrayContaining([{ tag: 'BEG', elements: ['00', 'SA', 'PO-1', '', '20260105'] }]),
    });
  });

  it('XML is stored raw under topic xml; binary content is kept as base64', () => {
    const xml = toPolledDocument(file('PO.xml'), Buffer.from('<?xml version="1.0"?><Orders/>'), 'sps-sftp');
    expect(xml.topic).toBe('xml');
    expect(payload(xml.body)).toMatchObject({
      source_kind: 'sps-sftp',
      format: 'xml',
      file: { encoding: 'utf8', content: '<?xml version="1.0"?><Orders/>' },
    });
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41]);
    const binary = toPolledDocument(file('blob.bin'), bytes, 'sps-rest');
    expect(binary.topic).toBe('file');
    expect(payload(binary.body).file).toMatchObject({ encoding: 'base64', content: bytes.toString('base64') });
  });
});
