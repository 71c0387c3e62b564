// The citizen's account home: the profile (GET /v1/citizens/me), email and tax code (PATCH /v1/citizens/me: the
// API's refusals, e.g. TAX_CODE_NOT_OWN_ID, beside the field), the password change (POST /v1/citizens/me/password:
// every other session ends and this tab keeps the fresh tokens it answers), and sign-out.
import { $, facts, focusOn, ready } from "../lib/dom.js";
import { date } from "../lib/format.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { passwordsAgree, phoneText } from "../lib/account.js";
import { bankName } from "../lib/banks.js";
import { authed, requireSession, saveSession, signOut } from "../lib/session.js";

const contact = $("#form-lien-he");
const password = $("#form-mat-khau");
const SEX = { male: "Nam", female: "Nữ" };
const TAX_FIELD = { TAX_CODE_NOT_OWN_ID: "tax_code", TAX_CODE_CHECK_DIGIT: "tax_code", ID_NUMBER_BIRTH_YEAR: "tax_code" };

async function render(profile) {
  const link = profile.bank_link;
  facts($("#thong-tin"), [
    ["Họ và tên", profile.full_name], ["Số định danh cá nhân", profile.id_number_masked],
    ["Ngày sinh", date(profile.date_of_birth)], ["Giới tính", SEX[profile.sex]],
    ["Số điện thoại", phoneText(profile.phone)], ["Thư điện tử", profile.email || "Chưa có"],
    ["Mã số thuế", profile.tax_code || "Chưa có"],
    ["Tài khoản ngân hàng liên kết",
      link ? `${await bankName(link.bank_code)}, tài khoản ${link.account_number_masked}` : "Chưa liên kết"],
    ["Ngày tạo tài khoản", date(profile.created_at)]]);
  $("#thong-tin").removeAttribute("aria-busy");
  $("#email").value = profile.email || "";
  $("#tax_code").value = profile.tax_code || "";
}

function done(el, text) {
  el.textContent = text;
  el.hidden = false;
  focusOn(el);
}

onSubmit(contact, "Đang lưu…", async ({ email, tax_code }) => {
  clearErrors(contact);
  $("#lien-he-da-luu").hidden = true;
  try {
    await render(await authed("citizen", "PATCH", "/v1/citizens/me",
      { json: { email: email || null, tax_code: tax_code || null } }));
  } catch (problem) {
    showProblem(contact, problem, TAX_FIELD);
    return;
  }
  done($("#lien-he-da-luu"), "Đã lưu thư điện tử và mã số thuế.");
});

onSubmit(password, "Đang đổi mật khẩu…", async (fields) => {
  clearErrors(password);
  $("#mat-khau-da-doi").hidden = true;
  if (!fields.current_password) {
    fieldError(password, "current_password", "Vui lòng nhập mật khẩu hiện tại.")?.focus();
    return;
  }
  if (!passwordsAgree(password, fields, "new_password", "new_password_again")) return;
  try {
    const answer = await authed("citizen", "POST", "/v1/citizens/me/password",
      { json: { current_password: fields.current_password, new_password: fields.new_password } });
    saveSession("citizen", answer);
  } catch (problem) {
    showProblem(password, problem, { CURRENT_PASSWORD_WRONG: "current_password", PASSWORD_UNCHANGED: "new_password" });
    return;
  }
  password.reset();
  done($("#mat-khau-da-doi"), "Đã đổi mật khẩu. Các phiên đăng nhập khác của tài khoản đã kết thúc.");
});

async function start() {
  const out = $("#dang-xuat");
  out.addEventListener("click", () => signOut("citizen"));
  ready(out, contact.querySelector("[type=submit]"), password.querySelector("[type=submit]"));
  try {
    await render(await authed("citizen", "GET", "/v1/citizens/me"));
  } catch (problem) {
    const box = $("#loi-tai");
    box.textContent = problem.detail;
    box.hidden = false;
  }
}

if (requireSession("citizen")) start();
