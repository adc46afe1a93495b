/**
 * Rejects when `promise` has not settled within `ms`. One promise and one timer per request (not
 * Promise.race plus finally, which make three more): this runs for every webhook. A late failure
 * after the deadline is already answered and goes nowhere.
 */
export function withDeadline<T>(ms: number, promise: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`storage did not answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
