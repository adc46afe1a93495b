import type { CheckedInterchange } from './x12-envelope';
import { element } from './x12-values';

// ISA09 is YYMMDD in every X12 version, and so is every date of the versions before 004010
// (GS04, BEG05, DTM02…). Reading YY as 20YY turned 1995 orders into 2095. The century is taken
// from the interchange itself instead: the first 8-digit GS04 (004010 on), else the first
// CCYYMMDD date among its BEG05 and DTM02 elements, else the clock. Six-digit dates are then read
// within 50 years before or 49 after that year.

const CCYYMMDD = /^\d{8}$/;

/** The year that decides the century of the interchange's six-digit dates. */
export function referenceYear(interchange: CheckedInterchange, now: Date): number {
  for (const group of interchange.groups) {
    const gs04 = element(group.header, 4);
    if (gs04 && CCYYMMDD.test(gs04)) return Number(gs04.slice(0, 4));
  }
  for (const group of interchange.groups) {
    for (const set of group.sets) {
      for (const segment of set.segments) {
        const date = segment.tag === 'BEG' ? element(segment, 5) : segment.tag === 'DTM' ? element(segment, 2) : null;
        if (date && CCYYMMDD.test(date)) return Number(date.slice(0, 4));
      }
    }
  }
  return now.getUTCFullYear();
}
