// What the payer's tab keeps between pages, in sessionStorage (this tab only, gone when it closes; never in a URL):
// - payment attempts, one per (dossier, notice, bank): the Idempotency-Key is minted before the first
//   POST /v1/payments and kept with the attempt, so a double click, a reload or a second try after coming back from
//   the bank replays the same payment instead of creating another;
// - each payment's client_secret (the X-Client-Secret that reads the payment, cancels it and opens its receipt).
// The ID number is not kept: an attempt is found again by dossier code, notice number and bank.

const ATTEMPTS = "lfo.attempts.v1";
const CURRENT = "lfo.current.v1";

function read(key, fallback) {
  try {
    const raw = sessionStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback; // storage disabled (private mode, policy): behave as a fresh tab
  }
}

function write(key, value) {
  try {
    sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // storage full or disabled: the page still works, a reload just cannot replay
  }
}

function newKey() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const attemptId = ({ dossier_code, notice_number, bank_code }) => [dossier_code, notice_number, bank_code].join("|");

/** The attempt for this payment request: the stored one (same Idempotency-Key), or a new one, stored at once. */
export function attemptFor(request) {
  const all = read(ATTEMPTS, {});
  const id = attemptId(request);
  if (!all[id]) {
    all[id] = { id, key: newKey(), dossier_code: request.dossier_code, notice_number: request.notice_number,
      bank_code: request.bank_code, created_at: Date.now() };
    write(ATTEMPTS, all);
  }
  return all[id];
}

/** Other attempts of the same notice (another bank) that hold a payment: one may be what blocks a new one. */
export function attemptsOfNotice(dossierCode, noticeNumber) {
  return Object.values(read(ATTEMPTS, {})).filter(
    (a) => a.dossier_code === dossierCode && a.notice_number === noticeNumber && a.payment_id);
}

/** Remember the payment an attempt created (and make it the tab's current payment). */
export function recordPayment(attempt, created) {
  const all = read(ATTEMPTS, {});
  all[attempt.id] = { ...attempt, payment_id: created.payment_id, client_secret: created.client_secret,
    redirect_url: created.redirect_url, amount_vnd: created.amount_vnd, expires_at: created.expires_at };
  write(ATTEMPTS, all);
  write(CURRENT, created.payment_id);
  return all[attempt.id];
}

/** Forget an attempt whose payment is over without being paid: the next try must get a new key and payment. */
export function forgetAttempt(attempt) {
  const all = read(ATTEMPTS, {});
  delete all[attempt.id];
  write(ATTEMPTS, all);
}

function byPayment(paymentId) {
  return Object.values(read(ATTEMPTS, {})).find((a) => a.payment_id === paymentId) || null;
}

/** The attempt of the payment this tab last sent to a bank, or of `paymentId` when given. */
export function currentAttempt(paymentId) {
  return byPayment(paymentId || read(CURRENT, null));
}

/** The X-Client-Secret header for a payment, or for its receipt (RCP... is the payment's id re-prefixed). */
export function accessHeaders(paymentOrReceiptId) {
  const attempt = byPayment("PAY" + String(paymentOrReceiptId).slice(3));
  return attempt ? { "X-Client-Secret": attempt.client_secret } : null;
}
