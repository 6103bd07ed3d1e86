// The "Bring someone along" section of /preferences/: the person's invite link (copy,
// replace, turn off), how many joined through it (never who), and whether the page says
// who invited them. Read and changed at /api/me/invite with the page's token.
import { call, problemText, say } from "./api.4f8b02bd.js";
import { t } from "./i18n.23342438.js";

const $ = (id) => document.getElementById(id);

function render(invite) {
  $("invite-says").textContent = invite.says;
  $("invite-on").hidden = !invite.url;
  $("invite-none").hidden = Boolean(invite.url);
  if (invite.url) $("invite-url").value = invite.url;
  $("invited").hidden = !invite.invited;
  $("show-inviter").checked = invite.show_inviter;
  $("inviter").hidden = !invite.inviter;
  $("inviter").textContent = invite.inviter ? t("You were invited by {name}.", { name: invite.inviter }) : "";
}

async function change(token, method, path, body, done) {
  const result = await call(method, path, { token: token(), body });
  if (result.status === 200 && result.data) {
    render(result.data);
    say(done);
  } else {
    say(problemText(result));
  }
}

async function copy() {
  const field = $("invite-url");
  try {
    await navigator.clipboard.writeText(field.value);
    say(t("Copied: your invite link is ready to paste."));
  } catch {
    // No clipboard for this page (an old browser, or permission refused): select the link
    // so the person can copy it themselves.
    field.focus();
    field.select();
    say(t("Your invite link is selected: copy it with your keyboard or menu."));
  }
}

/** Show the section for the person the page's token names (`token()`: the page's token as
 * it is now, which signing out everywhere replaces), and wire its controls. */
export async function loadInvite(token) {
  const result = await call("GET", "/api/me/invite", { token: token() });
  if (result.status !== 200 || !result.data) return;
  render(result.data);
  $("invite-copy").addEventListener("click", copy);
  $("invite-replace").addEventListener("click", () =>
    change(token, "POST", "/api/me/invite", undefined, t("Done: a new link; the old one stopped.")),
  );
  $("invite-make").addEventListener("click", () =>
    change(token, "POST", "/api/me/invite", undefined, t("Done: your invite link is on.")),
  );
  $("invite-off").addEventListener("click", () =>
    change(token, "DELETE", "/api/me/invite", undefined, t("Done: your invite link is off.")),
  );
  $("show-inviter").addEventListener("change", (event) =>
    change(
      token,
      "PUT",
      "/api/me/invite/inviter",
      { show: event.target.checked },
      event.target.checked ? t("Saved: this page says who invited you.") : t("Saved: it does not."),
    ),
  );
}
