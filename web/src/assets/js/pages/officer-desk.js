// The one-stop officer's desk (M9), in the seed's order: search the citizen's ID number (an existing account stops
// here), fill the citizen's data, download the request form for the citizen to check, upload the scan of both sides
// of the ID card (straight to S3, lib/upload.js), send the OTP to the citizen's phone, type the newest code the
// citizen reads out, create the account (the temporary password goes by SMS). One step shown at a time, the current
// one announced; the ID number, phone and verification token live in this script only, never in a URL or storage.
import { ApiProblem } from "../lib/api.js";
import { $, $$, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { dateTime } from "../lib/format.js";
import { clearErrors, fieldError, onSubmit, showProblem, values } from "../lib/forms.js";
import { isoFromVn, myUnits, showPlaced, showRefusal, unitOptions } from "../lib/officer.js";
import { authed, requireSession } from "../lib/session.js";
import { fileSize, uploadPresigned } from "../lib/upload.js";

const STEPS = ["Tra cứu số định danh", "Nhập thông tin công dân", "Tải phiếu đề nghị", "Đính kèm bản quét giấy tờ",
  "Gửi mã OTP", "Nhập mã OTP", "Tạo tài khoản"];
const SCAN_NAME = /\.(pdf|docx?)$/i;
const SCAN_LIMIT = 5 * 1024 * 1024; // the API's max_bytes decides; this only spares a pointless request
const SEX = { male: "Nam", female: "Nữ" };
// Whole-request errors ("body") and the field they concern.
const BY_CODE = { SEX_REQUIRED: "sex", ID_NUMBER_SEX_MISMATCH: "sex", ID_NUMBER_BIRTH_MISMATCH: "date_of_birth",
  ID_NUMBER_BIRTH_YEAR: "date_of_birth", DATE_OF_BIRTH_INVALID: "date_of_birth" };
const OTP_FIELD = { OTP_INVALID: "code", OTP_EXPIRED: "code", OTP_USED: "code" };
const SCAN_CODES = new Set(["SCAN_NOT_FOUND", "SCAN_CONTENT_INVALID", "SCAN_TOO_LARGE"]);

let units = [];
let state = {};
let pdfUrl = "";
const timers = {};

function fresh() {
  state = { idNumber: "", data: null, scan: null, otp: null, token: null };
  if (pdfUrl) URL.revokeObjectURL(pdfUrl);
  pdfUrl = "";
}

// --- progress --------------------------------------------------------------------------------------------------

function setStep(n, { focus = true } = {}) {
  for (const section of $$("#quy-trinh section[data-step]")) section.hidden = Number(section.dataset.step) !== n;
  $("#ket-qua").hidden = n !== 0;
  if (n === 5) $("#so-nhan-otp").textContent = state.data.phone;
  for (const li of $$("#tien-do li")) {
    const k = Number(li.dataset.step);
    const where = n === 0 || k < n ? "done" : k === n ? "current" : "todo";
    li.dataset.state = where;
    if (where === "current") li.setAttribute("aria-current", "step"); else li.removeAttribute("aria-current");
    fill(li, h("span", { class: "progress__mark", "aria-hidden": "true" }, where === "done" ? "✓" : String(k)),
      h("span", { class: "progress__label" }, `Bước ${k}. ${STEPS[k - 1]}`,
        where === "done" ? " (đã xong)" : where === "current" ? " (bước hiện tại)" : ""));
  }
  $("#buoc-hien-tai").textContent = n === 0 ? "Hoàn tất: đã tạo tài khoản."
    : `Bước ${n}/${STEPS.length}: ${STEPS[n - 1]}.`;
  if (focus) focusOn($(n === 0 ? "#tieu-de-ket-qua" : `#tieu-de-${n}`));
}

function countdown(name, seconds, tick, done) {
  clearInterval(timers[name]);
  const until = Date.now() + seconds * 1000;
  const step = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timers[name]);
      done();
    } else tick(left);
  };
  setTimeout(step, 0); // after onSubmit has given the button back
  timers[name] = setInterval(step, 1000);
}

function retryAfter(problem) {
  return Number(problem.extra?.retry_after_s) || 0;
}

// --- 1. search -------------------------------------------------------------------------------------------------

async function search(form, { id_number: raw }) {
  const box = $("#ket-qua-tra-cuu");
  box.hidden = true;
  clearErrors(form);
  const idNumber = raw.replace(/\s+/g, "");
  if (!idNumber) {
    fieldError(form, "id_number", "Vui lòng nhập số CMND/CCCD của công dân.").focus();
    return;
  }
  try {
    const answer = await authed("staff", "POST", "/v1/officers/citizen-accounts/search", { json: { id_number: idNumber } });
    if (answer.exists) {
      box.dataset.tone = "wait";
      fill(box, h("p", { class: "status__title" }, h("span", { class: "status__icon", "aria-hidden": "true" }, "!"),
        "Công dân đã có tài khoản"), h("p", {}, answer.message),
        h("p", {}, "Thông báo cho công dân đăng nhập bằng tài khoản đã có (có thể dùng chức năng Quên mật khẩu)."));
      box.hidden = false;
      return;
    }
    fresh();
    state.idNumber = idNumber;
    $("#so-dinh-danh").textContent = idNumber;
    $("#chua-co").textContent = answer.message;
    setStep(2);
  } catch (problem) {
    showPlaced(form, problem, { ID_NUMBER_BIRTH_YEAR: "id_number" });
  }
}

// --- 2-3. citizen data and the request form ----------------------------------------------------------------------

async function prepareForm(form, fields) {
  clearErrors(form);
  const dob = isoFromVn(fields.date_of_birth || "");
  if (!dob) {
    fieldError(form, "date_of_birth", fields.date_of_birth ? "Ngày sinh phải viết dạng ngày/tháng/năm, ví dụ 14/03/1995."
      : "Vui lòng nhập ngày sinh.").focus();
    return;
  }
  const data = { id_number: state.idNumber, full_name: fields.full_name, date_of_birth: dob, sex: fields.sex || null,
    phone: fields.phone, email: fields.email || null, unit_code: fields.unit_code };
  try {
    const pdf = await authed("staff", "POST", "/v1/officers/citizen-accounts/request-form",
      { json: data, headers: { Accept: "application/pdf" }, as: "blob" });
    if (pdfUrl) URL.revokeObjectURL(pdfUrl);
    pdfUrl = URL.createObjectURL(pdf);
    $("#tai-phieu").href = pdfUrl;
    if (state.data?.unit_code !== data.unit_code) state.scan = null; // a scan is bound to its unit
    if (state.data?.phone !== data.phone) state.otp = state.token = null; // a code is bound to the phone
    state.data = data;
    setStep(3);
  } catch (problem) {
    showPlaced(form, problem, BY_CODE);
  }
}

// --- 4. the scan -----------------------------------------------------------------------------------------------

async function uploadScan(form) {
  clearErrors(form);
  const file = $("#file_name").files[0];
  if (!file) return void fieldError(form, "file_name", "Vui lòng chọn tệp bản quét hai mặt CMND/CCCD.").focus();
  if (!SCAN_NAME.test(file.name)) {
    return void fieldError(form, "file_name", "Tệp phải có định dạng PDF, DOC hoặc DOCX.").focus();
  }
  if (file.size > SCAN_LIMIT) {
    return void fieldError(form, "file_name", `Tệp ${fileSize(file.size)} vượt quá 5 MB. Vui lòng quét lại với dung lượng nhỏ hơn.`).focus();
  }
  try {
    const slot = await authed("staff", "POST", "/v1/officers/citizen-accounts/scans",
      { json: { unit_code: state.data.unit_code, file_name: file.name } });
    await uploadPresigned(slot.upload, file, { maxBytes: slot.max_bytes, field: "file_name" });
    state.scan = { id: slot.scan_id, name: file.name, size: file.size };
    $("#da-tai-len").textContent = `Đã tải lên bản quét: ${file.name} (${fileSize(file.size)}).`;
    const tokenLive = state.token && state.token.expiresAt > Date.now() + 30000;
    if (tokenLive) showSummary();
    setStep(tokenLive ? 7 : 5);
  } catch (problem) {
    showPlaced(form, problem);
  }
}

// --- 5-6. the OTP ----------------------------------------------------------------------------------------------

function otpBody() {
  return { phone: state.data.phone, purpose: "account_creation", subject: state.idNumber };
}

function holdResend(seconds) {
  const form = $("#form-gui-lai");
  const button = form.querySelector("[type=submit]");
  const note = $("#gui-lai-trang-thai");
  button.disabled = true;
  note.textContent = `Nếu công dân không nhận được tin nhắn, có thể gửi lại mã sau ${seconds} giây.`;
  countdown("resend", seconds, (left) => { button.textContent = `Gửi lại mã OTP (${left} giây)`; }, () => {
    button.disabled = false;
    button.textContent = "Gửi lại mã OTP";
    note.textContent = "Có thể gửi lại mã OTP nếu công dân chưa nhận được tin nhắn.";
  });
}

function holdSend(form, seconds) {
  const button = form.querySelector("[type=submit]");
  countdown("send", seconds, (left) => {
    button.disabled = true;
    button.textContent = `Gửi mã OTP (sau ${left} giây)`;
  }, () => {
    button.disabled = false;
    button.textContent = "Gửi mã OTP";
  });
}

async function sendOtp(form, { resend = false } = {}) {
  clearErrors(form);
  try {
    const sent = await authed("staff", "POST", "/v1/otp", { json: otpBody() });
    state.otp = sent;
    state.token = null;
    const minutes = Math.max(1, Math.round(sent.expires_in_s / 60));
    $("#da-gui-otp").textContent = `${resend ? "Đã gửi lại mã OTP mới" : "Đã gửi mã OTP"} tới số ${sent.phone_masked}. `
      + `Mã có hiệu lực ${minutes} phút${resend ? "; chỉ mã mới nhất dùng được" : ""}.`;
    $("#code").value = "";
    clearErrors($("#form-otp"));
    holdResend(sent.resend_after_s);
    if (!resend) setStep(6);
    else focusOn($("#da-gui-otp"));
  } catch (problem) {
    const wait = problem.status === 429 ? retryAfter(problem) : 0;
    showProblem(form, problem);
    if (wait && resend) holdResend(wait);
    else if (wait) holdSend(form, wait);
  }
}

async function verifyOtp(form, { code }) {
  clearErrors(form);
  if (!/^\d{6}$/.test(code || "")) {
    fieldError(form, "code", "Mã OTP gồm đúng 6 chữ số.").focus();
    return;
  }
  try {
    const verified = await authed("staff", "POST", "/v1/otp/verify", { json: { ...otpBody(), code } });
    state.token = { value: verified.verification_token, expiresAt: Date.now() + verified.expires_in_s * 1000 };
    showSummary();
    setStep(7);
  } catch (problem) {
    showProblem(form, problem, OTP_FIELD);
  }
}

// --- 7. create -------------------------------------------------------------------------------------------------

function unitName(code) {
  const unit = units.find((u) => u.code === code);
  return unit ? `${unit.name} (${unit.code})` : code;
}

function showSummary() {
  const d = state.data;
  facts($("#tom-tat"), [["Họ và tên", d.full_name], ["Ngày sinh", d.date_of_birth.split("-").reverse().join("/")],
    ["Giới tính", SEX[d.sex] || ""], ["Số CMND/CCCD", d.id_number], ["Số điện thoại", d.phone],
    ["Thư điện tử", d.email || ""], ["Đơn vị tạo", unitName(d.unit_code)],
    ["Bản quét giấy tờ", state.scan ? `${state.scan.name} (${fileSize(state.scan.size)})` : ""]]);
}

function goTo(step, label) {
  const button = h("button", { class: "btn btn--secondary", type: "button" }, label);
  button.addEventListener("click", () => setStep(step));
  return button;
}

async function create(form) {
  clearErrors(form);
  try {
    const account = await authed("staff", "POST", "/v1/officers/citizen-accounts",
      { json: { ...state.data, scan_id: state.scan.id, verification_token: state.token.value } });
    showCreated(account);
  } catch (problem) {
    const extra = [];
    if (SCAN_CODES.has(problem.code)) {
      state.scan = null;
      extra.push(goTo(4, "Chọn lại tệp bản quét"));
    } else if (problem.code === "VERIFICATION_TOKEN_INVALID") {
      state.token = null;
      extra.push(goTo(5, "Gửi lại mã OTP"));
    } else if (problem.status === 422) extra.push(goTo(2, "Sửa thông tin"));
    showPlaced(form, problem, BY_CODE, extra);
  }
}

function showCreated(account) {
  clearInterval(timers.resend);
  $("#ket-qua-tieu-de").textContent = `Đã tạo tài khoản cho công dân ${account.full_name}.`;
  $("#ket-qua-sms").textContent = `Mật khẩu tạm thời đã được gửi bằng tin nhắn SMS tới số ${account.phone_masked} `
    + "(có hiệu lực 72 giờ). Công dân đăng nhập bằng số CMND/CCCD và phải đổi mật khẩu ở lần đăng nhập đầu tiên.";
  facts($("#ket-qua-tai-khoan"), [["Họ và tên", account.full_name], ["Số CMND/CCCD", account.id_number_masked],
    ["Số điện thoại", account.phone_masked], ["Đơn vị tạo", unitName(account.unit_code)],
    ["Cán bộ tạo", account.created_by], ["Thời gian tạo", dateTime(account.created_at)],
    ["Mã tài khoản", account.account_id]]);
  fresh();
  for (const f of ["#form-tra-cuu", "#form-thong-tin", "#form-ban-quet"]) $(f).reset();
  setStep(0);
}

function restart() {
  fresh();
  clearInterval(timers.resend);
  for (const f of $$("#quy-trinh form")) {
    f.reset();
    clearErrors(f);
  }
  $("#ket-qua-tra-cuu").hidden = true;
  setStep(1);
}

// --- start -----------------------------------------------------------------------------------------------------

async function start() {
  fresh();
  const searchButton = $("#form-tra-cuu [type=submit]");
  onSubmit($("#form-tra-cuu"), "Đang tra cứu…", (v) => search($("#form-tra-cuu"), v));
  onSubmit($("#form-thong-tin"), "Đang lập phiếu…", (v) => prepareForm($("#form-thong-tin"), v));
  $("#form-phieu").addEventListener("submit", (e) => {
    e.preventDefault();
    setStep(4);
  });
  onSubmit($("#form-ban-quet"), "Đang tải lên…", () => uploadScan($("#form-ban-quet")));
  onSubmit($("#form-gui-otp"), "Đang gửi mã…", () => sendOtp($("#form-gui-otp")));
  onSubmit($("#form-otp"), "Đang xác nhận…", (v) => verifyOtp($("#form-otp"), v));
  onSubmit($("#form-gui-lai"), "Đang gửi lại…", () => sendOtp($("#form-gui-lai"), { resend: true }));
  onSubmit($("#form-tao"), "Đang tạo tài khoản…", () => create($("#form-tao")));
  for (const b of $$("[data-restart]")) b.addEventListener("click", restart);
  for (const b of $$("[data-edit]")) b.addEventListener("click", () => setStep(2));
  try {
    units = await myUnits();
  } catch (problem) {
    if (problem instanceof ApiProblem && problem.status !== 401) showRefusal($("#tu-choi"), problem, $("#quy-trinh"));
    ready();
    return;
  }
  unitOptions($("#unit_code"), units);
  $("#quy-trinh").hidden = false;
  setStep(1, { focus: false });
  ready(searchButton);
}

if (requireSession("staff")) start();
