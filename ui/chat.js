() => {
  // Runs once when the chat page loads (Gradio's `js=`). Everything here is presentation: where the
  // page scrolls, what a screen reader hears, the copy button and the character counter. No answer
  // logic lives here; without JavaScript the chat still answers.
  const $ = (selector, root = document) => root.querySelector(selector);
  const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
  const plain = (element) => (element.innerText || element.textContent || "").replace(/\s+/g, " ").trim();
  // The words this script shows come from wording.toml [chat], handed over as data attributes of #bq-words
  // (ui/app.py script_words); {name} in them is filled here.
  const words = () => ($("#bq-words") || { dataset: {} }).dataset;
  const fill = (template, values) => (template || "").replace(/\{(\w+)\}/g, (all, name) => (name in values ? values[name] : all));
  const scrolls = (element) =>
    !!element && /(auto|scroll)/.test(getComputedStyle(element).overflowY) && element.scrollHeight > element.clientHeight + 1;

  // 1. Every new reply (an answer, an error, a refusal) is shown from its first line, where the user
  // is looking: inside the conversation panel when it scrolls (desktop), and on the page itself
  // (a phone, where the panel grows instead of scrolling). An emergency banner sits at a reply's top,
  // so it is never scrolled past; the same happens after a click on an example question.
  let seen = -1;
  const showNewReply = () => {
    const replies = $$("#bq-chat .bq-answer");
    if (seen === -1) { seen = replies.length; return; }  // a restored conversation: stay at the top
    if (replies.length < seen) seen = replies.length;
    if (replies.length === seen) return;
    seen = replies.length;
    const reply = replies[replies.length - 1];
    const row = reply.closest(".message-row") || reply;
    const panel = reply.closest('[role="log"]');
    if (scrolls(panel)) {
      panel.scrollTop += row.getBoundingClientRect().top - panel.getBoundingClientRect().top - 8;
      const box = panel.getBoundingClientRect();
      if (box.top < 0 || box.bottom > window.innerHeight) panel.scrollIntoView({ block: "nearest" });
    } else {
      window.scrollBy(0, row.getBoundingClientRect().top - 8);
    }
  };

  // 2. Plain-text accessible names. Gradio names each message after its raw HTML; the textbox's
  // label also holds the "Ask" button's text; the scrolling conversation is not in the tab order.
  const fixNames = () => {
    for (const message of $$('#bq-chat [data-testid="bot"], #bq-chat [data-testid="user"]')) {
      const who = message.dataset.testid === "bot" ? words().assistant : words().you;
      // A reply is named by its text without its links and buttons (the same text "Copy answer" copies).
      const reply = $(".bq-answer", message);
      const text = reply ? replyText(reply).replace(/\s+/g, " ").trim() : plain(message);
      const name = `${who}: ${text}`;
      if (message.getAttribute("aria-label") !== name) message.setAttribute("aria-label", name);
    }
    const box = $("#bq-question textarea");
    const label = words().question;
    if (box && label && box.getAttribute("aria-label") !== label) box.setAttribute("aria-label", label);
    const panel = $('#bq-chat [role="log"]');
    if (panel && panel.getAttribute("tabindex") !== "0") panel.setAttribute("tabindex", "0");
  };

  // 3. The counter under the box: silent until the question nears the limit, then the count; over
  // the limit, by how much (the server refuses it with the same figure).
  const counter = () => $("#bq-counter");
  const updateCounter = () => {
    const box = $("#bq-question textarea");
    const out = counter();
    if (!box || !out) return;
    const limit = Number(out.dataset.max || 0);
    const used = box.value.trim().length;
    const figures = { used: used.toLocaleString("en"), limit: limit.toLocaleString("en"), over: (used - limit).toLocaleString("en") };
    let text = "";
    if (limit && used > limit) {
      text = fill(words().over, figures);
    } else if (limit && used >= limit * 0.8) {
      text = fill(words().near, figures);
    }
    if (out.textContent !== text) out.textContent = text;
    out.classList.toggle("bq-over", !!limit && used > limit);
  };
  document.addEventListener("input", (event) => {
    if (event.target.closest && event.target.closest("#bq-question")) updateCounter();
  });

  // 4. "Copy answer": the reply as plain text (banners, quotes with their sources, the disclaimer),
  // not its HTML.
  const LINKS_AND_BUTTONS = ".bq-actions, .bq-passage-links";
  const textOf = (part) =>
    part.matches(LINKS_AND_BUTTONS)
      ? ""
      : part.querySelector(LINKS_AND_BUTTONS)
        ? Array.from(part.children).map(textOf).filter(Boolean).join("\n")
        : (part.innerText || part.textContent || "").trim();
  const replyText = (reply) => Array.from(reply.children).map(textOf).filter(Boolean).join("\n\n");
  const copy = async (text) => {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (error) {
      const area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      const done = document.execCommand("copy");
      area.remove();
      return done;
    }
  };
  document.addEventListener("click", async (event) => {
    const button = event.target.closest && event.target.closest(".bq-copy");
    if (!button) return;
    const reply = button.closest(".bq-answer");
    const status = $(".bq-copy-status", reply);
    const done = await copy(replyText(reply));
    if (status) {
      status.textContent = (done ? words().copied : words().copyFailed) || "";
      setTimeout(() => { status.textContent = ""; }, 3000);
    }
  });

  let pending = false;
  new MutationObserver(() => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      showNewReply();
      fixNames();
      updateCounter();
    });
  }).observe(document.body, { childList: true, subtree: true, characterData: true, attributes: true, attributeFilter: ["aria-label"] });

  // 5. The page opens at its top. The cursor goes to the box only on a wide screen: on a phone it
  // would open the keyboard over the page before anyone asked.
  window.scrollTo(0, 0);
  if (window.matchMedia("(min-width: 700px)").matches) {
    const focusBox = () => {
      const box = $("#bq-question textarea");
      if (box) box.focus({ preventScroll: true });
      else setTimeout(focusBox, 100);
    };
    focusBox();
  }
}
