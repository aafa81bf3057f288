// The customer simulator: post as a customer, and show the conversation,
// polled every second, as the customer's phone would.
"use strict";

(function () {
  const nameInput = document.getElementById("name");
  const compose = document.getElementById("compose");
  const textInput = document.getElementById("text");
  const sendButton = compose.querySelector("button");
  const list = document.getElementById("messages");
  const empty = document.getElementById("empty");
  const errorBox = document.getElementById("error");

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
      at.textContent = (m.from === "customer" ? "you · " : "team · ") + new Date(m.at).toLocaleTimeString();
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
        showError((body.error && body.error.message) || "not sent (" + resp.status + ")");
        return;
      }
      showError("");
      textInput.value = "";
      refresh();
    } catch (e) {
      showError("not sent: is switchboard serve --demo still running?");
    } finally {
      sendButton.disabled = false;
      textInput.focus();
    }
  });

  refresh();
  window.setInterval(refresh, 1000);
})();
