// Vietnamese display formats: VND with dot grouping ("1.378.500 đ"), dates dd/mm/yyyy, times in Vietnam time.
// Vietnam is UTC+7 all year (no daylight saving), so the conversion is a fixed offset: the result does not depend
// on the phone's time zone or on the browser's locale data.

const VN_OFFSET_MS = 7 * 60 * 60 * 1000;
const pad = (n, width = 2) => String(n).padStart(width, "0");

/** 1378500 -> "1.378.500" (the grouping the seed's tables show under "Số tiền (VNĐ)"). */
export function groupDigits(amount) {
  const digits = String(Math.trunc(Math.abs(Number(amount))));
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return Number(amount) < 0 ? `-${grouped}` : grouped;
}

/** 1378500 -> "1.378.500 đ". */
export function vnd(amount) {
  return `${groupDigits(amount)} đ`;
}

function vnParts(value) {
  const date = new Date(new Date(value).getTime() + VN_OFFSET_MS);
  return {
    d: pad(date.getUTCDate()), m: pad(date.getUTCMonth() + 1), y: pad(date.getUTCFullYear(), 4),
    hh: pad(date.getUTCHours()), mi: pad(date.getUTCMinutes()), ss: pad(date.getUTCSeconds()),
  };
}

/** "2021-06-20" -> "20/06/2021" (a calendar date, no time zone); an RFC 3339 time -> its date in Vietnam. */
export function date(value) {
  if (!value) return "";
  const plain = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (plain) return `${plain[3]}/${plain[2]}/${plain[1]}`;
  const p = vnParts(value);
  return `${p.d}/${p.m}/${p.y}`;
}

/** An RFC 3339 time -> "20/05/2021 10:01:02" in Vietnam time. */
export function dateTime(value) {
  if (!value) return "";
  const p = vnParts(value);
  return `${p.d}/${p.m}/${p.y} ${p.hh}:${p.mi}:${p.ss}`;
}

/** 120.5 -> "120,5 m²" (Vietnamese decimal comma). */
export function area(m2) {
  if (m2 === null || m2 === undefined) return "";
  const [whole, frac] = String(m2).split(".");
  return `${groupDigits(whole)}${frac ? `,${frac}` : ""} m²`;
}
