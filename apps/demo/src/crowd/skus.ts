/** The promo's SKUs: one hot SKU and WARM-1..N, and the order every table lists them in. */

export const HOT_SKU = 'HOT-1';
export const warmSku = (n: number) => `WARM-${n}`;

/** HOT-1 first, then WARM-1, WARM-2, … in numeric order, then anything else. */
export function skuOrder(a: string, b: string): number {
  const key = (s: string) => {
    const m = /^([A-Z]+)-(\d+)$/.exec(s);
    return m ? [m[1] === 'HOT' ? 0 : m[1] === 'WARM' ? 1 : 2, Number(m[2]), s] : [3, 0, s];
  };
  const [a0, a1, a2] = key(a) as [number, number, string];
  const [b0, b1, b2] = key(b) as [number, number, string];
  return a0 - b0 || a1 - b1 || (a2 < b2 ? -1 : a2 > b2 ? 1 : 0);
}
