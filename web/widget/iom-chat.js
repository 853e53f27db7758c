/*!
 * IOM chat widget: an accessible chat window (WCAG 2.1 AA) for the assistant's socket.io channel.
 * Plain ES2017, no framework, no build step. It loads iom-chat.css and socket.io.min.js (socket.io-client 4,
 * which speaks the protocol of the server's python-socketio 5) from the folder it was loaded from.
 *
 *   <script src="https://YOUR-SITE/widget/iom-chat.js"></script>
 *   <script>IOMChat.init({ socketUrl: "https://YOUR-RASA-HOST" });</script>
 *
 * Settings (all optional but socketUrl): socketPath, title, subtitle (a string, or {en: ..., fr: ...}),
 * language ("en" | "fr"; default: the page's lang attribute), colors ({primary, onPrimary}), storage
 * ("local" | "session"), storageKey, initPayload, stylesheet (URL, or false when the site styles it),
 * socketIoScript (URL of socket.io's browser bundle). The README's "Website widget" section has the details.
 *
 * Rules this file keeps: text from the visitor or the server is only ever put in the page with
 * createTextNode/textContent (never innerHTML); every control is a real <button>/<input> with a name; the
 * message list is a polite live region; focus is never lost (open -> text box, close -> launcher).
 */
(function () {
  "use strict";

  const SCRIPT = document.currentScript;
  const BASE = SCRIPT && SCRIPT.src ? new URL(".", SCRIPT.src).href : "";
  const LANGUAGES = ["en", "fr"];
  const LANGUAGE_NAMES = { en: "English", fr: "Français" };
  const TYPING_DELAY_MS = 300;      // a reply faster than this shows (and announces) no typing indicator
  const NO_ANSWER_MS = 30000;       // the server answers "try again" within its turn timeout (9 s) anyway
  const MAX_MESSAGES = 200;         // transcript kept across reloads
  const FULLSCREEN = "(max-width: 30em), (max-height: 30em)";  // same query as in iom-chat.css
  const LINK_PROTOCOLS = ["http:", "https:", "mailto:"];

  const STRINGS = {
    en: {
      title: "IOM Brussels",
      subtitle: "Questions about the IOM Global Office in Brussels and IOM",
      launcher: "Chat with us",
      close: "Close the chat",
      conversation: "Conversation",
      suggestions: "Suggested questions",
      inputLabel: "Your question",
      placeholder: "Type your question…",
      send: "Send",
      you: "You:",
      assistant: "Assistant:",
      typing: "The assistant is typing…",
      language: "Language",
      newTab: "(opens in a new tab)",
      offline: "Connection lost. Reconnecting…",
      noAnswer: "No answer arrived. Please try again.",
    },
    fr: {
      title: "OIM Bruxelles",
      subtitle: "Questions sur le Bureau mondial de l’OIM à Bruxelles et sur l’OIM",
      launcher: "Discuter avec nous",
      close: "Fermer la discussion",
      conversation: "Conversation",
      suggestions: "Questions suggérées",
      inputLabel: "Votre question",
      placeholder: "Écrivez votre question…",
      send: "Envoyer",
      you: "Vous\u202f:",
      assistant: "Assistant\u202f:",
      typing: "L’assistant écrit…",
      language: "Langue",
      newTab: "(s’ouvre dans un nouvel onglet)",
      offline: "Connexion perdue. Reconnexion…",
      noAnswer: "Aucune réponse reçue. Veuillez réessayer.",
    },
  };

  // ------------------------------------------------------------------------------------------ helpers

  let ids = 0;
  function uid(name) {
    ids += 1;
    return "iomc-" + name + "-" + ids;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function icon(pathData) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "24");
    svg.setAttribute("height", "24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", pathData);
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  const ICONS = {
    chat: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2zm2 5v2h12V9H6zm0 4v2h8v-2H6z",
    close: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z",
    send: "M3 20.5V14l9-2-9-2V3.5L22 12z",
  };

  function languageOf(value) {
    const code = String(value || "").trim().toLowerCase().slice(0, 2);
    return LANGUAGES.indexOf(code) >= 0 ? code : null;
  }

  function perLanguage(value, lang) {
    if (value && typeof value === "object") return value[lang] || value.en || "";
    return value || "";
  }

  function openStore(kind, key) {
    let area = null;
    try {
      area = kind === "session" ? window.sessionStorage : window.localStorage;
      area.getItem(key);
    } catch (e) {
      area = null;  // storage blocked (privacy settings): the conversation just won't survive a reload
    }
    return {
      load() {
        try {
          const state = JSON.parse(area ? area.getItem(key) : "null");
          return state && typeof state === "object" ? state : {};
        } catch (e) {
          return {};
        }
      },
      save(state) {
        try {
          if (area) area.setItem(key, JSON.stringify(state));
        } catch (e) { /* full or blocked: see above */ }
      },
    };
  }

  // Colour contrast (WCAG 2.1 relative luminance), to warn a site whose `colors` setting is unreadable.
  function rgb(color) {
    const probe = el("span");
    probe.style.color = color;
    if (!probe.style.color) return null;
    document.body.appendChild(probe);
    const parts = getComputedStyle(probe).color.match(/[\d.]+/g);
    probe.remove();
    return parts && parts.length >= 3 ? parts.slice(0, 3).map(Number) : null;
  }

  function luminance(color) {
    const c = color.map((v) => {
      const s = v / 255;
      return s <= 0.03928 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  }

  // ------------------------------------------------------------------------------------------ Markdown

  // Answers are Markdown from our content store: paragraphs, "- " lists, **bold** and [text](url) links.
  // This renderer never parses HTML: it builds elements and puts every piece of text in with
  // createTextNode, so "<img onerror=...>" in a reply shows as those characters. That is why a hand-written
  // renderer of ~80 lines is safer here than a Markdown library plus a sanitiser. Links: http, https and
  // mailto only (anything else stays plain text), opened in a new tab with rel="noopener noreferrer".
  const INLINE = /\*\*([^*]+(?:\*(?!\*)[^*]*)*)\*\*|\[([^\]\n]+)\]\(([^()\s]+)\)/g;

  function safeUrl(href) {
    try {
      const url = new URL(href);
      return LINK_PROTOCOLS.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (e) {
      return null;  // relative or malformed
    }
  }

  function appendInline(parent, text, strings, inBold) {
    let last = 0;
    let match;
    const pattern = new RegExp(INLINE.source, "g");
    while ((match = pattern.exec(text)) !== null) {
      if (match.index > last) parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      if (match[1] !== undefined && !inBold) {
        const strong = el("strong");
        appendInline(strong, match[1], strings, true);
        parent.appendChild(strong);
      } else if (match[2] !== undefined && safeUrl(match[3])) {
        const link = el("a", "", match[2]);
        link.href = safeUrl(match[3]);
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        const note = el("span", "iomc-sr", " " + strings.newTab);
        note.lang = strings.lang;
        link.appendChild(note);
        parent.appendChild(link);
      } else {
        parent.appendChild(document.createTextNode(match[2] !== undefined ? match[2] : match[0]));
      }
      last = pattern.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function renderMarkdown(text, strings) {
    const fragment = document.createDocumentFragment();
    const blocks = String(text).replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/);
    for (const block of blocks) {
      let paragraph = [];
      let list = null;
      let item = null;
      const flushParagraph = () => {
        if (!paragraph.length) return;
        const p = el("p");
        appendInline(p, paragraph.join(" "), strings, false);
        fragment.appendChild(p);
        paragraph = [];
      };
      const flushItem = () => {
        if (!item) return;
        const li = el("li");
        appendInline(li, item.join(" "), strings, false);
        list.appendChild(li);
        item = null;
      };
      for (const line of block.split("\n")) {
        if (!line.trim()) continue;
        const bullet = /^ {0,3}[-*+][ \t]+(.*)$/.exec(line);
        if (bullet) {
          flushParagraph();
          flushItem();
          if (!list) {
            list = el("ul");
            fragment.appendChild(list);
          }
          item = [bullet[1].trim()];
        } else if (item && /^[ \t]/.test(line)) {
          item.push(line.trim());  // an indented line continues the list item
        } else {
          flushItem();
          list = null;
          paragraph.push(line.trim());
        }
      }
      flushItem();
      flushParagraph();
    }
    return fragment;
  }

  // ------------------------------------------------------------------------------------------ socket.io

  let socketIoLoading = null;

  function loadSocketIo(src) {
    if (typeof window.io === "function") return Promise.resolve(window.io);
    if (!socketIoLoading) {
      socketIoLoading = new Promise((resolve, reject) => {
        const script = el("script");
        script.src = src;
        script.async = true;
        script.onload = () => (typeof window.io === "function" ? resolve(window.io)
          : reject(new Error("IOMChat: " + src + " did not define io")));
        script.onerror = () => reject(new Error("IOMChat: could not load " + src));
        document.head.appendChild(script);
      });
      socketIoLoading.catch(() => { socketIoLoading = null; });  // let a later attempt retry
    }
    return socketIoLoading;
  }

  // ------------------------------------------------------------------------------------------ the widget

  class Chat {
    constructor(options) {
      const settings = Object.assign({
        socketUrl: "", socketPath: "/socket.io/", title: null, subtitle: null, language: null, colors: {},
        storage: "local", storageKey: "iom-chat", initPayload: "/greet", stylesheet: BASE + "iom-chat.css",
        socketIoScript: BASE + "socket.io.min.js",
      }, options || {});
      if (!settings.socketUrl) throw new Error("IOMChat.init: `socketUrl` (the Rasa server's URL) is required");
      this.settings = settings;
      this.store = openStore(settings.storage, settings.storageKey);
      const saved = this.store.load();
      this.state = {
        sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
        messages: Array.isArray(saved.messages) ? saved.messages.filter(validMessage).slice(-MAX_MESSAGES) : [],
        open: saved.open === true,
        language: languageOf(saved.language),  // set only when the visitor used the switch
      };
      this.lang = this.state.language || languageOf(settings.language) || languageOf(document.documentElement.lang)
        || "en";
      this.socket = null;
      this.connecting = false;
      this.confirmed = false;
      this.outbox = [];
      this.greetQueued = false;
      this.typing = false;
      this.typingTimer = null;
      this.answerTimer = null;
      this.fullscreen = window.matchMedia ? window.matchMedia(FULLSCREEN) : { matches: false };
      this.build();
      this.applyStrings();
      this.applyColors();
      for (const message of this.state.messages) this.log.insertBefore(this.renderMessage(message), this.typingBubble);
      this.renderReplies();
      this.setOpen(this.state.open, false);
      this.mount();
    }

    get strings() {
      return Object.assign({ lang: this.lang }, STRINGS[this.lang]);
    }

    // ---------------------------------------------------------------------------------------- DOM

    build() {
      const dialogId = uid("dialog");
      const titleId = uid("title");
      const subtitleId = uid("subtitle");
      const inputId = uid("input");

      this.root = el("div", "iomc");
      this.root.hidden = true;  // until the stylesheet has loaded, so no unstyled flash

      this.launcher = el("button", "iomc-launcher");
      this.launcher.type = "button";
      this.launcher.setAttribute("aria-controls", dialogId);
      this.launcher.setAttribute("aria-expanded", "false");
      this.launcherText = el("span");
      this.launcher.append(icon(ICONS.chat), this.launcherText);
      this.launcher.addEventListener("click", () => this.open(true));

      this.dialog = el("div", "iomc-dialog");
      this.dialog.id = dialogId;
      this.dialog.setAttribute("role", "dialog");
      this.dialog.setAttribute("aria-labelledby", titleId);
      this.dialog.setAttribute("aria-describedby", subtitleId);
      this.dialog.addEventListener("keydown", (event) => this.onKeydown(event));
      // Escape also closes when focus fell back to the page body (a clicked follow-up button goes away).
      document.addEventListener("keydown", (event) => {
        if (this.state.open && document.activeElement === document.body) this.onKeydown(event);
      });

      const header = el("div", "iomc-header");
      const heading = el("div", "iomc-heading");
      this.title = el("h2", "iomc-title");
      this.title.id = titleId;
      this.subtitle = el("p", "iomc-subtitle");
      this.subtitle.id = subtitleId;
      heading.append(this.title, this.subtitle);
      this.closeButton = el("button", "iomc-close");
      this.closeButton.type = "button";
      this.closeButton.appendChild(icon(ICONS.close));
      this.closeButton.addEventListener("click", () => this.close());
      this.languages = el("div", "iomc-languages");
      this.languages.setAttribute("role", "group");
      this.languageButtons = {};
      LANGUAGES.forEach((lang, index) => {
        if (index) this.languages.appendChild(el("span", "iomc-separator", "/")).setAttribute("aria-hidden", "true");
        const button = el("button", "iomc-language", LANGUAGE_NAMES[lang]);
        button.type = "button";
        button.lang = lang;
        button.addEventListener("click", () => this.setLanguage(lang));
        this.languageButtons[lang] = button;
        this.languages.appendChild(button);
      });
      header.append(heading, this.closeButton, this.languages);

      this.notice = el("div", "iomc-notice");
      this.notice.setAttribute("role", "status");

      this.log = el("div", "iomc-log");
      this.log.setAttribute("role", "log");
      this.log.setAttribute("aria-live", "polite");
      this.log.setAttribute("aria-relevant", "additions");
      this.log.tabIndex = 0;  // scrollable with the keyboard even when it holds no button
      this.typingBubble = el("div", "iomc-msg iomc-msg-bot iomc-typing");
      this.typingBubble.setAttribute("aria-hidden", "true");  // announced once by typingStatus, not per dot
      this.typingBubble.hidden = true;
      const dots = el("div", "iomc-bubble iomc-dots");
      dots.append(el("span"), el("span"), el("span"));
      this.typingBubble.appendChild(dots);
      this.log.appendChild(this.typingBubble);

      this.typingStatus = el("div", "iomc-sr");
      this.typingStatus.setAttribute("role", "status");

      this.form = el("form", "iomc-form");
      this.form.noValidate = true;
      this.inputLabel = el("label", "iomc-sr");
      this.inputLabel.htmlFor = inputId;
      this.input = el("input", "iomc-input");
      this.input.id = inputId;
      this.input.type = "text";
      this.input.autocomplete = "off";
      this.input.setAttribute("enterkeyhint", "send");
      this.sendButton = el("button", "iomc-send");
      this.sendButton.type = "submit";
      this.sendText = el("span", "iomc-sr");
      this.sendButton.append(icon(ICONS.send), this.sendText);
      this.form.append(this.inputLabel, this.input, this.sendButton);
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        const text = this.input.value;
        if (!text.trim()) return;
        this.input.value = "";
        this.send(text, text, null);
      });

      this.dialog.append(header, this.notice, this.log, this.typingStatus, this.form);
      this.root.append(this.launcher, this.dialog);

      const onScreenChange = () => this.dialog.setAttribute("aria-modal", String(this.fullscreen.matches));
      onScreenChange();
      if (this.fullscreen.addEventListener) this.fullscreen.addEventListener("change", onScreenChange);
    }

    mount() {
      const attach = () => {
        document.body.appendChild(this.root);
        const href = this.settings.stylesheet;
        if (!href) {
          this.root.hidden = false;
          return;
        }
        const link = el("link");
        link.rel = "stylesheet";
        link.href = href;
        link.onload = link.onerror = () => { this.root.hidden = false; };
        document.head.appendChild(link);
      };
      if (document.body) attach();
      else document.addEventListener("DOMContentLoaded", attach);
      if (this.state.open) this.connect();
      // Follow the page's language while the visitor has not chosen one (sites that switch lang in place).
      if (window.MutationObserver) {
        new MutationObserver(() => {
          const pageLang = languageOf(document.documentElement.lang);
          if (!this.state.language && !languageOf(this.settings.language) && pageLang && pageLang !== this.lang) {
            this.lang = pageLang;
            this.applyStrings();
          }
        }).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
      }
    }

    applyStrings() {
      const s = this.strings;
      this.root.lang = this.lang;
      this.launcherText.textContent = s.launcher;
      this.title.textContent = perLanguage(this.settings.title, this.lang) || s.title;
      this.subtitle.textContent = perLanguage(this.settings.subtitle, this.lang) || s.subtitle;
      this.closeButton.setAttribute("aria-label", s.close);
      this.languages.setAttribute("aria-label", s.language);
      for (const lang of LANGUAGES) this.languageButtons[lang].setAttribute("aria-pressed", String(lang === this.lang));
      this.log.setAttribute("aria-label", s.conversation);
      this.inputLabel.textContent = s.inputLabel;
      this.input.placeholder = s.placeholder;
      this.sendText.textContent = s.send;
      if (this.replies) this.replies.setAttribute("aria-label", s.suggestions);
    }

    applyColors() {
      const colors = this.settings.colors || {};
      if (colors.primary) this.root.style.setProperty("--iomc-primary", colors.primary);
      if (colors.onPrimary) this.root.style.setProperty("--iomc-on-primary", colors.onPrimary);
      if ((colors.primary || colors.onPrimary) && document.body) {
        const primary = rgb(colors.primary || "#0033a0");
        const onPrimary = rgb(colors.onPrimary || "#ffffff");
        const white = [255, 255, 255];
        if (primary && onPrimary && (contrast(primary, onPrimary) < 4.5 || contrast(primary, white) < 4.5)) {
          console.warn("IOMChat: colors.primary needs a contrast of at least 4.5:1 with colors.onPrimary and with " +
                       "white (WCAG 1.4.3); the chosen colours fall short");
        }
      }
    }

    renderMessage(message) {
      const s = this.strings;
      const item = el("div", "iomc-msg iomc-msg-" + message.from);
      const who = el("span", "iomc-sr", (message.from === "user" ? s.you : s.assistant) + " ");
      who.lang = this.lang;
      const bubble = el("div", "iomc-bubble");
      if (message.lang) bubble.lang = message.lang;
      if (message.from === "user") bubble.textContent = message.text;
      else bubble.appendChild(renderMarkdown(message.text, s));
      item.append(who, bubble);
      return item;
    }

    // Follow-up (and feedback) buttons: only under the latest answer, real <button>s in the Tab order.
    renderReplies() {
      this.clearReplies();
      const last = this.state.messages[this.state.messages.length - 1];
      if (!last || last.from !== "bot" || !last.replies || !last.replies.length) return;
      this.replies = el("div", "iomc-replies");
      this.replies.setAttribute("role", "group");
      this.replies.setAttribute("aria-label", this.strings.suggestions);
      if (last.lang) this.replies.lang = last.lang;
      for (const reply of last.replies) {
        const button = el("button", "iomc-reply", reply.title);
        button.type = "button";
        button.addEventListener("click", (event) => {
          // A click from the keyboard (detail 0) moves focus to the text box, since this button goes away;
          // deferred so the Enter that clicked it does not also reach the text box.
          if (event.detail === 0) setTimeout(() => this.input.focus(), 0);
          this.send(reply.payload, reply.title, last.lang);
        });
        this.replies.appendChild(button);
      }
      this.log.insertBefore(this.replies, this.typingBubble);
    }

    clearReplies() {
      if (this.replies) this.replies.remove();
      this.replies = null;
    }

    addMessage(message) {
      this.state.messages.push(message);
      while (this.state.messages.length > MAX_MESSAGES) {
        this.state.messages.shift();
        const first = this.log.querySelector(".iomc-msg-user, .iomc-msg-bot:not(.iomc-typing)");
        if (first) first.remove();
      }
      this.save();
      const node = this.renderMessage(message);
      this.log.insertBefore(node, this.typingBubble);
      this.renderReplies();
      // Show the start of an answer (it may be long); the end of anything else.
      this.scrollLog(message.from === "bot" ? node.offsetTop - 8 : this.log.scrollHeight);  // .iomc-log is the offsetParent
    }

    notify(text) {
      const node = el("div", "iomc-msg iomc-msg-notice");
      node.appendChild(el("p", "iomc-bubble", text));
      this.log.insertBefore(node, this.typingBubble);
      this.scrollLog(this.log.scrollHeight);
    }

    scrollLog(top) {
      const smooth = !(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
      if (this.log.scrollTo) this.log.scrollTo({ top: Math.max(0, top), behavior: smooth ? "smooth" : "auto" });
      else this.log.scrollTop = Math.max(0, top);
    }

    save() {
      this.store.save(this.state);
    }

    // ---------------------------------------------------------------------------------------- open / close

    setOpen(open, moveFocus) {
      this.state.open = open;
      this.dialog.hidden = !open;
      this.launcher.hidden = open;
      this.launcher.setAttribute("aria-expanded", String(open));
      if (open) {
        this.scrollLog(this.log.scrollHeight);
        // Deferred, so the Enter that opened the chat does not also submit the (empty) form.
        if (moveFocus) setTimeout(() => this.input.focus(), 0);
      } else if (moveFocus) {
        this.launcher.focus();
      }
      this.save();
    }

    open(moveFocus) {
      this.setOpen(true, moveFocus !== false);
      this.connect();
      if (!this.state.messages.length) this.greet();
    }

    close() {
      this.setOpen(false, true);
    }

    greet() {
      if (this.greetQueued || !this.settings.initPayload) return;
      this.greetQueued = true;
      this.send(this.settings.initPayload, null, null);
    }

    onKeydown(event) {
      if (event.key === "Escape" || event.key === "Esc") {
        event.preventDefault();
        this.close();
      } else if (event.key === "Tab" && this.fullscreen.matches) {
        // Full-screen (phones, high zoom) the chat covers the page: keep Tab inside it, like a modal.
        const focusable = Array.from(this.dialog.querySelectorAll("button, input, a[href], [tabindex='0']"))
          .filter((node) => !node.disabled && node.getClientRects().length);
        const first = focusable[0];
        const last = focusable[focusable.length - 1];
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    }

    // ---------------------------------------------------------------------------------------- language

    setLanguage(lang) {
      if (LANGUAGES.indexOf(lang) < 0 || lang === this.lang) return;
      this.lang = lang;
      this.state.language = lang;
      this.applyStrings();
      this.save();
      // The server switches its replies; until it knows the command it answers it like any text.
      this.send("/switch_language" + '{"language": "' + lang + '"}', LANGUAGE_NAMES[lang], lang);
    }

    // ---------------------------------------------------------------------------------------- talking

    // `message` goes to the server; `shown` (the visitor's text, or a button's title) goes in the transcript.
    send(message, shown, lang) {
      if (shown !== null) {
        const entry = { from: "user", text: shown };
        if (lang) entry.lang = lang;
        this.addMessage(entry);
      }
      this.clearReplies();
      this.outbox.push({ message: message, metadata: { language: this.lang, page: location.pathname } });
      this.startWaiting();
      this.flush();
    }

    flush() {
      if (!this.socket || !this.confirmed) {
        this.connect();
        return;
      }
      while (this.outbox.length) {
        const next = this.outbox.shift();
        this.socket.emit("user_uttered", { message: next.message, session_id: this.state.sessionId,
                                           metadata: next.metadata });
      }
    }

    connect() {
      if (this.socket || this.connecting) return;
      this.connecting = true;
      loadSocketIo(this.settings.socketIoScript).then((io) => {
        const socket = io(this.settings.socketUrl, { path: this.settings.socketPath });
        this.socket = socket;
        socket.on("connect", () => {
          this.confirmed = false;
          socket.emit("session_request", { session_id: this.state.sessionId });
        });
        socket.on("session_confirm", (data) => this.onSessionConfirm(data));
        socket.on("bot_uttered", (data) => this.onBotMessage(data));
        socket.on("disconnect", () => {
          this.confirmed = false;
          this.setNotice(this.strings.offline);
        });
        socket.on("connect_error", () => this.setNotice(this.strings.offline));
      }, (error) => {
        this.connecting = false;
        console.error(error);
        this.setNotice(this.strings.offline);
      });
    }

    setNotice(text) {
      if (this.notice.textContent !== text) this.notice.textContent = text;
      this.notice.hidden = !text;
    }

    onSessionConfirm(data) {
      const id = typeof data === "string" ? data : data && typeof data.session_id === "string" ? data.session_id : "";
      if (!id) return;
      const previous = this.state.sessionId;
      this.state.sessionId = id;  // always what the server confirms: it may replace an unknown or stale id
      this.confirmed = true;
      this.setNotice("");
      if (previous && previous !== id && this.state.messages.length) {
        // The server did not keep our conversation: start a new one rather than show a history it forgot.
        this.state.messages = [];
        for (const node of Array.from(this.log.querySelectorAll(".iomc-msg:not(.iomc-typing)"))) node.remove();
        this.clearReplies();
        this.greetQueued = false;
        if (this.state.open) this.greet();
      }
      this.save();
      this.flush();
    }

    startWaiting() {
      clearTimeout(this.typingTimer);
      clearTimeout(this.answerTimer);
      this.typingTimer = setTimeout(() => this.showTyping(true), TYPING_DELAY_MS);
      this.answerTimer = setTimeout(() => {
        this.showTyping(false);
        this.notify(this.strings.noAnswer);
      }, NO_ANSWER_MS);
    }

    stopWaiting() {
      clearTimeout(this.typingTimer);
      clearTimeout(this.answerTimer);
      this.showTyping(false);
    }

    // One announcement per wait: the status text is set once when the indicator appears and cleared when
    // the answer comes; the animated dots are aria-hidden.
    showTyping(on) {
      if (on === this.typing) return;
      this.typing = on;
      this.typingBubble.hidden = !on;
      this.typingStatus.textContent = on ? this.strings.typing : "";
      if (on) this.scrollLog(this.log.scrollHeight);
    }

    onBotMessage(data) {
      if (!data || typeof data !== "object") return;
      const text = typeof data.text === "string" ? data.text.trim() : "";
      const replies = (Array.isArray(data.quick_replies) ? data.quick_replies : [])
        .filter((r) => r && typeof r.title === "string" && typeof r.payload === "string" && r.title.trim())
        .map((r) => ({ title: r.title, payload: r.payload }));
      if (!text && !replies.length) return;
      this.stopWaiting();
      this.greetQueued = false;
      this.addMessage({ from: "bot", text: text, lang: languageOf(data.lang) || this.lang, replies: replies });
    }
  }

  function validMessage(m) {
    return m && (m.from === "user" || m.from === "bot") && typeof m.text === "string";
  }

  let instance = null;

  window.IOMChat = {
    /** Creates the widget (once per page) and returns {open, close, setLanguage}. */
    init(options) {
      if (instance) {
        console.warn("IOMChat.init: the chat is already on this page");
      } else {
        instance = new Chat(options);
      }
      return {
        open: () => instance.open(true),
        close: () => instance.close(),
        setLanguage: (lang) => instance.setLanguage(lang),
      };
    },
  };
})();
