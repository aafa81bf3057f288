// The customer simulator: post as a customer, and show the conversation,
// polled every second, as the customer's phone would. It speaks the
// console's languages, picked by the console's own i18n module (the
// language chosen there, else the browser's), from the console's strings.

import * as i18n from "/console/js/i18n.js";

const { t } = i18n;

const nameInput = document.getElementById("name");
const compose = document.getElementById("compose");
const textInput = document.getElementById("text");
const sendButton = compose.querySelector("button");
const list = document.getElementById("messages");
const empty = document.getElementById("empty");
const errorBox = document.getElementById("error");

// errors says, for each of the simulator's error codes, why a message
// was not sent.
const errors = {
  invalid_name: () => t("simulator.err_name"),
  text_required: () => t("simulator.err_empty"),
  text_too_long: () => t("simulator.err_too_long"),
  too_large: () => t("simulator.err_too_long"),
  unavailable: () => t("simulator.err_unavailable"),
};

/**
 * translate replaces the text of each element with a data-i18n key by its
 * string; a {placeholder} in the string is filled by the child element
 * whose data-fill names it (the intro's link to the console), so the
 * link stays a link wherever the sentence puts it.
 */
function translate() {
  for (const el of document.querySelectorAll("[data-i18n]")) {
    const slots = {};
    for (const c of el.querySelectorAll(":scope > [data-fill]")) {
      slots[c.dataset.fill] = c;
    }
    const parts = t(el.dataset.i18n).split(/\{([a-z_]+)\}/);
    el.replaceChildren(...parts.map((p, i) => (i % 2 ? slots[p] || "{" + p + "}" : p)));
  }
}

try {
  const config = await (await fetch("/console/config.json", { credentials: "same-origin" })).json();
  await i18n.load(config.languages || ["en"]);
  translate();
} catch (e) {
  // Without the console's strings the page stays in its English text.
  console.error("simulator strings:", e);
}

const saved = window.localStorage.getItem("simulator.name");
if (saved) {
  nameInput.value = saved;
}
let shown = "";

function name() {
  return nameInput.value.trim() || "Maria Silva";
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function render(messages) {
  const key = JSON.stringify(messages.map((m) => m.id));
  if (key === shown) {
    return;
  }
  shown = key;
  list.replaceChildren();
  for (const m of messages) {
    const li = document.createElement("li");
    li.className = m.from === "customer" ? "customer" : "team";
    li.textContent = m.text;
    const at = document.createElement("time");
    at.dateTime = m.at;
    const time = new Date(m.at).toLocaleTimeString(i18n.current());
    at.textContent = m.from === "customer" ? t("simulator.from_you", { time }) : t("simulator.from_team", { time });
    li.appendChild(at);
    list.appendChild(li);
  }
  empty.hidden = messages.length > 0;
  window.scrollTo(0, document.body.scrollHeight);
}

async function refresh() {
  try {
    const resp = await fetch("/simulator/api/messages?name=" + encodeURIComponent(name()));
    if (!resp.ok) {
      return;
    }
    const body = await resp.json();
    render(body.messages || []);
  } catch (e) {
    // The demo stopped or restarts; the next poll tries again.
  }
}

nameInput.addEventListener("change", () => {
  window.localStorage.setItem("simulator.name", name());
  shown = "";
  refresh();
});
document.getElementById("who").addEventListener("submit", (ev) => ev.preventDefault());

compose.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const text = textInput.value.trim();
  if (!text) {
    return;
  }
  sendButton.disabled = true;
  try {
    const resp = await fetch("/simulator/api/messages", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ name: name(), text: text }),
    });
    if (!resp.ok) {
      const body = await resp.json().catch(() => ({}));
      const code = body.error && body.error.code;
      showError(Object.hasOwn(errors, code) ? errors[code]() : t("simulator.err_status", { status: resp.status }));
      return;
    }
    showError("");
    textInput.value = "";
    refresh();
  } catch (e) {
    showError(t("simulator.err_offline"));
  } finally {
    sendButton.disabled = false;
    textInput.focus();
  }
});

refresh();
window.setInterval(refresh, 1000);
