/** How the page writes numbers, fractions and times: fixed formats, so screenshots and tests are stable. */

const DASH = "—";

/** An error fraction as a percentage with two decimals ("12.50%"); a dash when unknown. */
export function percent(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? DASH : `${(value * 100).toFixed(2)}%`;
}

/** A number with about four significant digits, exponent form outside [1e-3, 1e5). */
export function number(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs < 1e-3 || abs >= 1e5) return value.toExponential(digits - 1).replace(/\.?0+e/, "e");
  return String(Number(value.toPrecision(digits)));
}

/** Bytes in decimal units, three significant digits ("940 B", "3.14 KB", "1.20 MB"); a dash when unknown. */
export function bytes(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const units = ["B", "KB", "MB", "GB", "TB"];
  let n = value, i = 0;
  while (n >= 999.5 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(n)} B` : `${n.toPrecision(3)} ${units[i]}`;
}

/** Milliseconds, one decimal below 100 ("3.2 ms"). */
export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${value < 100 ? value.toFixed(1) : Math.round(value)} ms`;
}

/** An ISO time as local "YYYY-MM-DD HH:MM:SS"; a dash when absent. */
export function time(iso: string | null | undefined): string {
  if (!iso) return DASH;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return DASH;
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A hyperparameter value as the table and charts show it. */
export function value(v: unknown): string {
  if (typeof v === "number") return number(v);
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? DASH;
}
