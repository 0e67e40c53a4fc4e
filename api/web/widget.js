/* ranker voting widget (runs inside the iframe served at /w/{survey_id}).
 *
 * Plain ES2020, no build step, no third-party code. Talks to the public voter API of docs/api.md
 * (same origin as this page, so no CORS and no cookies). Every piece of survey data (question,
 * idea text, group names) is inserted with textContent, never as HTML.
 *
 * Events for the host page: window.parent.postMessage({ranker: 1, type, survey, frame, ...}, hostOrigin)
 * with type in ready | resize | vote | skip | undo | idea | error. They are only ever posted to the
 * origin of the page that frames the widget (browser-reported ancestor origin), never to "*".
 *
 * Words: every string comes from the message catalogues of api/web/i18n/ (widget.LANG.js, through
 * i18n.js). The language is the first of: the survey's `language` setting, `lang` on the embed
 * (data-lang / ?lang=), the browser's languages, English. The question, description and ideas
 * show the organiser's translation into that language where there is one (else their own text).
 *
 * Who may vote (the survey's `identity`, docs/user-guide.md "Who may vote"):
 * - anonymous: a new voter costs nothing until the server answers proof_required (this address made
 *   many voters lately); then, as in proof_of_work mode, the browser solves a proof of work first;
 * - proof_of_work: the ALTCHA challenge of GET .../voters/challenge is solved by the vendored ALTCHA
 *   worker (/web/vendor/altcha-pbkdf2.js, WebCrypto PBKDF2), one worker per core, while the question
 *   shows; the proof goes with POST .../voters. Then every pair costs a small proof too: each ballot
 *   (and the new voter) carries the challenge for the next pair, solved the same way while the voter
 *   reads the current one, and sent with the next POST .../ballots (a voter holding none, or whose
 *   proof was refused, asks GET .../ballots/challenge and solves that);
 * - site: the embed loader hands over the token the host site signed for its signed-in user
 *   (message type "sitetoken", from and to the two known origins only); the voter token is then
 *   never stored, so the next person on a shared device cannot vote as this one.
 */
(() => {
  "use strict";

  const PROTOCOL = 1;
  const STORAGE_PREFIX = "ranker:voter:";
  const params = new URLSearchParams(window.location.search);
  const pathParts = window.location.pathname.split("/").filter(Boolean);
  const surveyId = params.get("survey") || decodeURIComponent(pathParts[pathParts.length - 1] || "");
  const frameId = (params.get("frame") || "").slice(0, 64);
  const api = `/v1/public/surveys/${encodeURIComponent(surveyId)}`;
  const CHECKPOINT = clampInt(params.get("thanks"), 1, 1000, 10);
  const REMEMBER = params.get("remember") !== "0";
  const POW_WORKER = "/web/vendor/altcha-pbkdf2.js";
  const POW_WORKERS_MAX = 4;
  const POW_TIMEOUT_MS = 120000;
  // Answer refusals that mean "this pair is no longer answerable": the widget fetches a fresh one.
  const STALE_BALLOT = new Set([
    "bad_token",
    "ballot_not_found",
    "ballot_expired",
    "ballot_used",
    "wrong_voter",
    "idea_inactive",
  ]);

  const $ = (id) => document.getElementById(id);
  const el = {
    root: $("rk"),
    question: $("rk-question"),
    desc: $("rk-desc"),
    groupView: $("rk-group-view"),
    groups: $("rk-groups"),
    voteView: $("rk-vote-view"),
    pair: $("rk-pair"),
    left: $("rk-left"),
    right: $("rk-right"),
    leftText: $("rk-left-text"),
    rightText: $("rk-right-text"),
    skip: $("rk-skip"),
    skipPanel: $("rk-skip-panel"),
    reasons: $("rk-reasons"),
    other: $("rk-other"),
    otherText: $("rk-other-text"),
    undo: $("rk-undo"),
    add: $("rk-add"),
    comment: $("rk-comment"),
    commentPanel: $("rk-comment-panel"),
    commentText: $("rk-comment-text"),
    commentError: $("rk-comment-error"),
    commentSubmit: $("rk-comment-submit"),
    flag: $("rk-flag"),
    targetLeft: $("rk-target-left"),
    targetRight: $("rk-target-right"),
    addPanel: $("rk-add-panel"),
    ideaText: $("rk-idea-text"),
    ideaHint: $("rk-idea-hint"),
    ideaError: $("rk-idea-error"),
    ideaSubmit: $("rk-idea-submit"),
    ideaCancel: $("rk-idea-cancel"),
    doneView: $("rk-done-view"),
    doneText: $("rk-done-text"),
    cont: $("rk-continue"),
    showResults: $("rk-show-results"),
    showMine: $("rk-show-mine"),
    resultsTitle: $("rk-results-title"),
    results: $("rk-results"),
    ranking: $("rk-ranking"),
    message: $("rk-message"),
    retryWrap: $("rk-retry-wrap"),
    retry: $("rk-retry"),
    count: $("rk-count"),
    live: $("rk-live"),
    keysHint: $("rk-keys-hint"),
    privacy: $("rk-privacy"),
  };

  /* ---------------------------------------------------------------- language */

  const I18N = window.rankerI18n;
  let L = I18N.create("widget", "en");

  /** Language tags in the order they are wanted: the survey's setting, the embed's, the browser's. */
  function wantedLanguages() {
    const survey = state.survey || {};
    return [survey.language, params.get("lang"), ...(navigator.languages || [navigator.language]), "en"].filter(Boolean);
  }

  /** Choose the widget's language and put its words on the page (static ones by data-i18n). */
  function setLanguage() {
    const lang = I18N.pick(wantedLanguages(), Object.keys(I18N.catalogues.widget || {})) || "en";
    L = I18N.create("widget", lang);
    document.documentElement.lang = L.lang;
    document.documentElement.dir = L.dir;
    I18N.translate(document, L);
    const [first, second] = L.dir === "rtl" ? ["→", "←"] : ["←", "→"];
    const kbd = (text) => {
      const k = document.createElement("kbd");
      k.textContent = text;
      return k;
    };
    el.keysHint.replaceChildren(...L.parts("vote.keys", { key1: kbd("1"), arrow1: kbd(first), key2: kbd("2"), arrow2: kbd(second) }));
    const [near, far] = L.dir === "rtl" ? ["key.right_arrow", "key.left_arrow"] : ["key.left_arrow", "key.right_arrow"];
    $("rk-left-hint").textContent = L.t("vote.first_hint", { arrow: L.t(near) });
    $("rk-right-hint").textContent = L.t("vote.second_hint", { arrow: L.t(far) });
    updateIdeaCount();
    if (state.survey) updateCount();
  }

  /** The organiser's translation of a text for this voter, ``{text, lang}`` (``lang`` null:
   * the survey's own language, not named). ``translations``: ``{tag: text}``. */
  function localised(text, translations) {
    const source = (state.survey && state.survey.language) || "";
    const tags = Object.keys(translations || {});
    if (tags.length === 0) return { text, lang: source || null };
    const got = I18N.pick(wantedLanguages(), source ? [source, ...tags] : tags);
    if (!got || got === source || !translations[got]) return { text, lang: source || null };
    return { text: translations[got], lang: got };
  }

  function updateIdeaCount() {
    const count = document.createElement("span");
    count.id = "rk-idea-count";
    count.textContent = L.number(el.ideaText.value.length);
    const n = el.ideaText.maxLength > 0 ? el.ideaText.maxLength : 280;
    el.ideaHint.replaceChildren(...L.parts("idea.count", { count, n }));
  }

  const state = {
    survey: null,
    token: null,
    proof: null, // a proof of work being solved (a Promise of the proof string)
    ballotProof: null, // proof_of_work: the next pair's proof being solved (a Promise), or null
    group: params.get("group") || null,
    ballot: null,
    shownAt: 0,
    votes: 0,
    sinceThanks: 0,
    busy: false,
    interacted: false,
    retry: null,
    undoable: false,
    history: [], // this visit's answers not undone yet ("left", "right", "tie", "skip"), oldest first
    said: "", // what the live region says with the next pair (what became of the last answer)
  };

  /* ---------------------------------------------------------------- host messaging */

  function hostOrigin() {
    if (window.parent === window) return null;
    // Chromium and WebKit report the real ancestor origins; this cannot be spoofed by the host.
    const anc = window.location.ancestorOrigins;
    if (anc && anc.length > 0) return anc[0];
    const claimed = params.get("origin");
    if (claimed && /^https?:\/\/[^/?#\s]+$/.test(claimed)) return claimed;
    try {
      if (document.referrer) return new URL(document.referrer).origin;
    } catch (_) {
      /* no usable referrer */
    }
    return null;
  }
  const HOST = hostOrigin();

  function emit(type, data) {
    if (!HOST || HOST === "null") return;
    const msg = Object.assign({ ranker: PROTOCOL, type, survey: surveyId, frame: frameId }, data || {});
    try {
      window.parent.postMessage(msg, HOST);
    } catch (_) {
      /* a detached parent: nothing to tell */
    }
  }

  let lastHeight = 0;
  function reportSize() {
    const h = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (h !== lastHeight) {
      lastHeight = h;
      emit("resize", { height: h });
    }
  }
  if ("ResizeObserver" in window) new ResizeObserver(reportSize).observe(document.documentElement);
  window.addEventListener("load", reportSize);

  /* ---------------------------------------------------------------- theming */

  function clampInt(value, lo, hi, dflt) {
    const n = Number.parseInt(value || "", 10);
    return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : dflt;
  }

  function parseColour(value) {
    if (!value) return null;
    const v = String(value).trim();
    if (/^#?([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})$/i.test(v)) return v.startsWith("#") ? v : `#${v}`;
    if (/^[a-z]{3,24}$/i.test(v)) return v;
    return null;
  }

  /** WCAG 2 relative luminance of any CSS colour the browser understands (null: not a colour). */
  function luminance(colour) {
    const probe = document.createElement("span");
    probe.style.color = "";
    probe.style.color = colour;
    if (!probe.style.color) return null;
    probe.style.display = "none";
    document.documentElement.append(probe);
    const m = /rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)/.exec(getComputedStyle(probe).color);
    probe.remove();
    if (!m) return null;
    const lin = (v) => {
      const c = Number(v) / 255;
      return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(m[1]) + 0.7152 * lin(m[2]) + 0.0722 * lin(m[3]);
  }

  /** The text colour for the accent: white or the theme's near-black when either reaches 4.5:1
   * (WCAG AA), else black, which always reaches 4.58:1 where white does not. */
  function readableOn(colour) {
    const lum = luminance(colour);
    if (lum === null) return null;
    const ratio = (a, b) => (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    for (const [fg, l] of [["#ffffff", 1], ["#0b1020", luminance("#0b1020")]]) {
      if (ratio(lum, l) >= 4.5) return fg;
    }
    return ratio(lum, 1) >= ratio(lum, 0) ? "#ffffff" : "#000000";
  }

  /** Apply a theme mapping ({theme, accent, bg, fg, font, radius}); unknown or unsafe values are ignored. */
  function applyTheme(theme) {
    const root = document.documentElement;
    const mode = theme.theme || theme.mode;
    if (mode === "dark" || mode === "light" || mode === "auto") root.dataset.theme = mode;
    const accent = parseColour(theme.accent);
    if (accent) {
      root.style.setProperty("--rk-accent", accent);
      root.style.setProperty("--rk-focus", accent);
      const fg = readableOn(accent);
      if (fg) root.style.setProperty("--rk-accent-fg", fg);
    }
    const bg = parseColour(theme.bg);
    if (bg) root.style.setProperty("--rk-bg", bg);
    if (accent) {
      // the accent as text (the 1/2 key badges, links) only where it reads on the background
      const a = luminance(accent);
      const b = luminance(getComputedStyle(root).getPropertyValue("--rk-bg").trim() || "#ffffff");
      const ok = a !== null && b !== null && (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) >= 4.5;
      root.style.setProperty("--rk-accent-text", ok ? accent : "var(--rk-fg)");
    }
    const fg = parseColour(theme.fg);
    if (fg) root.style.setProperty("--rk-fg", fg);
    const font = theme.font ? String(theme.font).trim() : "";
    if (font && /^[\w\s,"'-]{1,80}$/.test(font)) root.style.setProperty("--rk-font", `${font}, system-ui, sans-serif`);
    if (theme.radius !== undefined && theme.radius !== null && theme.radius !== "") {
      root.style.setProperty("--rk-radius", `${clampInt(String(theme.radius), 0, 40, 14)}px`);
    }
  }

  function urlTheme() {
    const t = {};
    for (const key of ["theme", "accent", "bg", "fg", "font", "radius"]) {
      if (params.has(key)) t[key] = params.get(key);
    }
    return t;
  }

  applyTheme(urlTheme());

  /* ---------------------------------------------------------------- HTTP */

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.code = (problem && problem.code) || (status === 0 ? "network_error" : `http_${status}`);
      this.retryAfter = 0;
    }
  }

  async function call(method, path, body, withToken = true) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (withToken && state.token) headers["X-Voter-Token"] = state.token;
    let res;
    try {
      res = await fetch(api + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "omit",
        cache: "no-store",
      });
    } catch (_) {
      throw new ApiError(0, { detail: "The network is unreachable." });
    }
    let data = null;
    const type = res.headers.get("Content-Type") || "";
    if (type.includes("json")) {
      try {
        data = await res.json();
      } catch (_) {
        data = null;
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data);
      err.retryAfter = clampInt(res.headers.get("Retry-After"), 0, 3600, 0);
      throw err;
    }
    return data;
  }

  /* ---------------------------------------------------------------- views */

  function announce(text) {
    // Clear first so the same sentence twice in a row is still read out.
    el.live.textContent = "";
    window.setTimeout(() => {
      el.live.textContent = text;
    }, 50);
  }

  function show(view) {
    for (const v of [el.groupView, el.voteView, el.doneView]) v.hidden = v !== view;
    if (view !== el.voteView) {
      closePanels();
    }
    el.root.setAttribute("aria-busy", "false");
  }

  /** The visible banner. Errors are an alert (read at once); an "ok" sentence is also put in
   * the live region by its caller (announce), so the banner itself is then no live region, or
   * a screen reader would read it twice; a message without a kind is a status. */
  function setMessage(text, kind, retry) {
    el.message.hidden = !text;
    el.message.textContent = text || "";
    if (kind) el.message.dataset.kind = kind;
    else delete el.message.dataset.kind;
    if (kind === "ok") el.message.removeAttribute("role");
    else el.message.setAttribute("role", kind === "error" ? "alert" : "status");
    state.retry = retry || null;
    el.retryWrap.hidden = !retry;
  }

  function updateCount() {
    el.count.textContent = L.t("count.votes", { n: state.votes });
  }

  /** What each problem ``code`` the widget can receive means to a voter: the catalogue key of
   * its sentence (api/problems.py; a test checks that every public code has one here). The
   * API's own wording is never shown. */
  const MESSAGES = {
    // the survey itself
    survey_not_found: "error.unavailable",
    not_found: "error.unavailable",
    survey_closed: "error.closed",
    not_enough_ideas: "error.not_enough_ideas",
    no_pair_available: "error.no_pair",
    results_hidden: "error.results_hidden",
    ideas_not_allowed: "error.ideas_not_allowed",
    // who is voting
    voter_token_missing: "error.session_ended",
    voter_token_invalid: "error.session_ended",
    voter_not_found: "error.session_ended",
    voter_voided: "error.voided",
    site_token_required: "error.sign_in",
    site_token_invalid: "error.sign_in_failed",
    proof_required: "error.proof_required",
    proof_failed: "error.proof_failed",
    proof_invalid: "error.proof_failed",
    forbidden: "error.forbidden",
    // this pair
    bad_token: "error.pair_gone",
    ballot_not_found: "error.pair_gone",
    ballot_expired: "error.pair_expired",
    ballot_used: "error.pair_used",
    wrong_voter: "error.pair_other_voter",
    idea_inactive: "error.idea_withdrawn",
    idea_not_found: "error.idea_gone",
    nothing_to_undo: "error.nothing_to_undo",
    undo_expired: "error.undo_expired",
    // what was written
    text_empty: "error.text_empty",
    text_too_long: "error.text_too_long",
    duplicate_idea: "error.duplicate_idea",
    limit_reached: "error.limit_reached",
    payload_too_large: "error.text_too_long",
    // the request went wrong (a fault of this page, not the voter's)
    validation_error: "error.request",
    invalid_input: "error.request",
    bad_request: "error.request",
    ranker_error: "error.request",
    method_not_allowed: "error.request",
    not_acceptable: "error.request",
    unsupported_media_type: "error.request",
    conflict: "error.conflict",
    // the service
    rate_limited: "error.rate_limited",
    internal_error: "error.internal",
    not_ready: "error.not_ready",
    store_error: "error.store",
    network_error: "error.network",
  };

  function problemText(err) {
    return L.t(MESSAGES[err.code] || (err.status >= 500 ? "error.internal" : "error.generic"));
  }

  /** Codes after which the same request may well succeed when sent again. */
  const TRANSIENT = new Set(["network_error", "rate_limited", "internal_error", "not_ready", "store_error", "proof_failed"]);

  function fail(err, retry) {
    const fatal = ["survey_not_found", "survey_closed", "not_enough_ideas", "voter_voided"].includes(err.code);
    el.root.setAttribute("aria-busy", "false");
    setMessage(problemText(err), "error", fatal ? null : retry);
    if (fatal) el.voteView.hidden = true;
    emit("error", { code: err.code, status: err.status });
  }

  /* ---------------------------------------------------------------- voter identity */

  function storageKey() {
    return STORAGE_PREFIX + surveyId;
  }

  function loadToken() {
    try {
      return window.localStorage.getItem(storageKey());
    } catch (_) {
      return null; // storage blocked (e.g. strict third-party settings): a per-page-load voter
    }
  }

  /** Keep the token in this frame's storage, or else (storage denied to cross-site frames) ask
   * the embed loader to keep it in the host page's own storage. */
  function saveToken(token) {
    try {
      if (token) window.localStorage.setItem(storageKey(), token);
      else window.localStorage.removeItem(storageKey());
      return;
    } catch (_) {
      /* storage denied: fall through */
    }
    if (frameId && REMEMBER) emit("voter", { token: token || null });
  }

  /** The token the embed loader kept for us in the host page's storage (null if none). */
  function tokenFromHost() {
    if (!HOST || HOST === "null" || !frameId || !REMEMBER) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => finish(null), 1500); // an old or absent loader
      function finish(token) {
        window.clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        resolve(token);
      }
      function onMessage(event) {
        const d = event.data;
        if (event.source !== window.parent || event.origin !== HOST) return;
        if (!d || d.ranker !== PROTOCOL || d.type !== "voter" || d.frame !== frameId) return;
        finish(typeof d.token === "string" && d.token.length > 0 && d.token.length < 4096 ? d.token : null);
      }
      window.addEventListener("message", onMessage);
    });
  }

  function identityMode() {
    return (state.survey && state.survey.identity) || "anonymous";
  }

  /** Solve one proof-of-work challenge for a new voter; resolves to the `proof` string. */
  async function solveProof() {
    return solveChallenge(await call("GET", "/voters/challenge", undefined, false));
  }

  /** Solve an ALTCHA challenge in Web Workers; resolves to the `proof` string. */
  async function solveChallenge(challenge) {
    const n = Math.max(1, Math.min(POW_WORKERS_MAX, navigator.hardwareConcurrency || 2));
    const workers = [];
    try {
      const solution = await new Promise((resolve, reject) => {
        let left = n;
        const failed = () => {
          left -= 1;
          if (left === 0) reject(new ApiError(0, { code: "proof_failed", detail: "proof of work failed" }));
        };
        for (let i = 0; i < n; i++) {
          const w = new Worker(POW_WORKER);
          workers.push(w);
          w.onmessage = (event) => {
            const d = event.data;
            if (d && Number.isInteger(d.counter) && typeof d.derivedKey === "string") resolve(d);
            else failed(); // null: this worker's share held no solution (or it timed out)
          };
          w.onerror = failed;
          // each worker tries every n-th counter, as the ALTCHA widget splits the search
          w.postMessage({ type: "work", challenge, counterStart: i, counterStep: n, counterMode: "uint32", timeout: POW_TIMEOUT_MS });
        }
      });
      const payload = { challenge, solution: { counter: solution.counter, derivedKey: solution.derivedKey, time: solution.time } };
      return btoa(JSON.stringify(payload));
    } finally {
      for (const w of workers) w.terminate();
    }
  }

  /** The proof for the next new voter: the one started early, or a new one. Used once. */
  function takeProof() {
    const p = state.proof || solveProof();
    state.proof = null;
    return p;
  }

  /** Start solving the next pair's challenge (proof_of_work mode; null: pairs cost nothing). */
  function solveNextPair(challenge) {
    state.ballotProof = challenge ? solveChallenge(challenge) : null;
    if (state.ballotProof) state.ballotProof.catch(() => {}); // a failure: a fresh one when needed
  }

  /** The next pair. In proof_of_work mode it carries the proof solved while the voter read the
   * last one; a voter holding none (or whose proof expired or was refused) solves a fresh one. */
  async function requestBallot() {
    const pending = state.ballotProof;
    state.ballotProof = null;
    let proof = null;
    if (pending) {
      try {
        proof = await pending;
      } catch (_) {
        proof = null;
      }
    }
    try {
      return await call("POST", "/ballots", proof ? { proof } : {});
    } catch (err) {
      if (err.code !== "proof_required" && err.code !== "proof_invalid") throw err;
      const fresh = await solveChallenge(await call("GET", "/ballots/challenge"));
      return call("POST", "/ballots", { proof: fresh });
    }
  }

  /** Ask the embed loader for the token the host site signed for its user (null: none). */
  function siteTokenFromHost() {
    if (!HOST || HOST === "null" || !frameId) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = window.setTimeout(() => finish(null), 10000); // no loader, or no answer
      function finish(token) {
        window.clearTimeout(timer);
        window.removeEventListener("message", onMessage);
        resolve(token);
      }
      function onMessage(event) {
        const d = event.data;
        if (event.source !== window.parent || event.origin !== HOST) return;
        if (!d || d.ranker !== PROTOCOL || d.type !== "sitetoken" || d.frame !== frameId) return;
        finish(typeof d.token === "string" && d.token.length > 0 && d.token.length <= 4096 ? d.token : null);
      }
      window.addEventListener("message", onMessage);
      emit("sitetoken", {});
    });
  }

  async function ensureVoter() {
    if (state.token) return;
    const mode = identityMode();
    const body = state.group ? { group: state.group } : {};
    if (mode === "site") {
      const siteToken = await siteTokenFromHost();
      if (!siteToken) throw new ApiError(403, { code: "site_token_required" });
      body.site_token = siteToken;
    } else if (mode === "proof_of_work") {
      setMessage(L.t("proof.working"));
      body.proof = await takeProof();
    }
    let voter;
    try {
      voter = await call("POST", "/voters", body, false);
    } catch (err) {
      // past the free budget of this address, or a proof that came too late: one (new) proof
      const again = (err.code === "proof_required" && !body.proof) || (err.code === "proof_invalid" && body.proof);
      if (!again) throw err;
      setMessage(L.t("proof.working"));
      body.proof = await takeProof();
      voter = await call("POST", "/voters", body, false);
    }
    state.token = voter.token;
    solveNextPair(voter.challenge); // the first pair's proof (proof_of_work mode)
    if (mode !== "site") {
      saveToken(voter.token);
      return;
    }
    try {
      // the same site user may have voted on another device: show their count
      const me = await call("GET", "/me");
      if (Number.isInteger(me.n_votes)) state.votes = me.n_votes;
      updateCount();
    } catch (_) {
      /* the count is only a courtesy */
    }
  }

  /* ---------------------------------------------------------------- pairs and answers */

  function setChoicesEnabled(on) {
    el.left.disabled = !on;
    el.right.disabled = !on;
    for (const b of el.reasons.querySelectorAll("button")) b.disabled = !on;
  }

  async function nextPair(retried = false) {
    state.ballot = null;
    setChoicesEnabled(false);
    try {
      await ensureVoter();
      const ballot = await requestBallot();
      renderPair(ballot);
      solveNextPair(ballot.challenge); // while the voter reads this pair
    } catch (err) {
      if (!retried && (err.code === "voter_token_invalid" || err.code === "voter_token_missing")) {
        state.token = null;
        saveToken(null);
        return nextPair(true);
      }
      fail(err, () => nextPair());
    }
  }

  const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

  /** Show an idea's text in its own direction: dir="auto" isolates it (CSS unicode-bidi:
   * isolate), so a right-to-left idea cannot reorder the text around it. Bidi controls are
   * stripped on input; older ideas may still hold one (U+202E shows "evil" as "live"). */
  function showIdea(node, text, lang) {
    node.textContent = String(text ?? "").replace(BIDI_CONTROLS, "");
    node.dir = "auto";
    node.classList.add("rk-bidi");
    if (lang) node.lang = lang;
    else node.removeAttribute("lang");
  }

  /** An idea of a ballot ({id, text, translations}) in the voter's language where the organiser
   * translated it. */
  function showBallotIdea(node, idea) {
    const { text, lang } = localised(idea.text, idea.translations);
    showIdea(node, text, lang);
  }

  function renderPair(ballot) {
    state.ballot = ballot;
    state.shownAt = performance.now();
    showBallotIdea(el.leftText, ballot.left);
    showBallotIdea(el.rightText, ballot.right);
    el.left.dataset.picked = "false";
    el.right.dataset.picked = "false";
    el.pair.classList.remove("rk-enter");
    void el.pair.offsetWidth; // restart the entry animation
    el.pair.classList.add("rk-enter");
    setMessage("");
    show(el.voteView);
    setChoicesEnabled(true);
    state.busy = false;
    if (state.interacted) {
      // Focus reads the first idea; the live region says what happened and both new ideas.
      const pair = L.t("live.new_pair", { left: el.leftText.textContent, right: el.rightText.textContent });
      announce(`${state.said} ${pair}`.trim());
      state.said = "";
      el.left.focus({ preventScroll: true });
    }
  }

  async function answer(choice, reason, reasonText) {
    if (state.busy || !state.ballot) return;
    state.busy = true;
    state.interacted = true;
    const ballot = state.ballot;
    const body = { ballot: ballot.ballot, choice, response_ms: Math.max(0, Math.round(performance.now() - state.shownAt)) };
    if (reason) body.reason = reason;
    if (reasonText) body.reason_text = reasonText.slice(0, 200);
    if (choice === "left" || choice === "right") (choice === "left" ? el.left : el.right).dataset.picked = "true";
    setChoicesEnabled(false);
    try {
      await call("POST", "/answers", body);
    } catch (err) {
      state.busy = false;
      if (STALE_BALLOT.has(err.code)) {
        state.said = L.t(err.code === "idea_inactive" ? "live.withdrawn" : "live.gone");
        return nextPair();
      }
      if (err.code === "voter_token_invalid" || err.code === "voter_token_missing") {
        state.token = null; // a session the server no longer knows: start a new one
        saveToken(null);
        state.said = L.t("live.session_ended");
        return nextPair();
      }
      // The pair stays usable: choose again, or "Try again" sends the same answer once more
      // (where that may work now) or brings a fresh pair (where it would only fail again).
      const again = TRANSIENT.has(err.code) || err.status >= 500;
      fail(err, again ? () => answer(choice, reason, reasonText) : () => nextPair());
      if (!el.voteView.hidden) {
        el.left.dataset.picked = "false";
        el.right.dataset.picked = "false";
        setChoicesEnabled(true);
      }
      return;
    }
    closePanels();
    const picked = choice === "left" ? ballot.left : choice === "right" ? ballot.right : null;
    const other = choice === "left" ? ballot.right : choice === "right" ? ballot.left : null;
    if (choice === "skip") {
      emit("skip", { reason: reason || null, left: ballot.left.id, right: ballot.right.id });
      state.said = L.t("live.skipped");
    } else {
      state.votes += 1;
      state.sinceThanks += 1;
      updateCount();
      emit("vote", {
        choice,
        winner: picked ? picked.id : null,
        loser: other ? other.id : null,
        left: ballot.left.id,
        right: ballot.right.id,
        votes: state.votes,
      });
      state.said = picked ? L.t("live.vote", { idea: localised(picked.text, picked.translations).text }) : L.t("live.tie");
    }
    state.history.push(choice);
    state.undoable = true;
    el.undo.disabled = false;
    if (state.sinceThanks >= CHECKPOINT) {
      state.sinceThanks = 0;
      state.busy = false;
      showThanks();
      return;
    }
    await nextPair();
  }

  /** Take back this visit's answers one at a time, most recent first, as the API allows
   * (each within the survey's undo window; docs/user-guide.md "Undo"). */
  async function undo() {
    if (!state.undoable || state.busy) return;
    state.busy = true;
    state.interacted = true;
    el.undo.disabled = true;
    try {
      const res = await call("DELETE", "/answers/last");
      const undone = state.history.pop();
      if (undone !== "skip") {
        state.votes = Math.max(0, state.votes - 1);
        state.sinceThanks = Math.max(0, state.sinceThanks - 1);
      }
      state.undoable = state.history.length > 0;
      el.undo.disabled = !state.undoable;
      updateCount();
      emit("undo", { undone: res && res.undone_seq ? res.undone_seq : null, votes: state.votes });
      const text = L.t(undone === "skip" ? "undo.skip" : "undo.answer");
      setMessage(text, "ok");
      announce(text);
      state.busy = false;
      if (el.voteView.hidden) await nextPair();
      else el.left.focus({ preventScroll: true });
    } catch (err) {
      state.busy = false;
      if (TRANSIENT.has(err.code) || err.status >= 500) {
        el.undo.disabled = false; // nothing happened: the voter may try again
      } else {
        state.history = []; // too late, or nothing left to take back
        state.undoable = false;
      }
      setMessage(problemText(err), "error"); // an alert: read out once, not also announced
    }
  }

  /* ---------------------------------------------------------------- panels */

  function closePanels() {
    if (el.message.dataset.kind === "ok") setMessage(""); // "idea sent" and the like are done
    el.skipPanel.hidden = true;
    el.skip.setAttribute("aria-expanded", "false");
    el.other.hidden = true;
    el.addPanel.hidden = true;
    el.add.setAttribute("aria-expanded", "false");
    el.commentPanel.hidden = true;
    el.comment.setAttribute("aria-expanded", "false");
  }

  function toggleComment() {
    const open = el.commentPanel.hidden;
    closePanels();
    if (!open || !state.ballot) return;
    showBallotIdea(el.targetLeft, state.ballot.left);
    showBallotIdea(el.targetRight, state.ballot.right);
    el.commentPanel.querySelector('input[value="left"]').checked = true;
    el.commentError.hidden = true;
    el.commentPanel.hidden = false;
    el.comment.setAttribute("aria-expanded", "true");
    el.commentText.focus({ preventScroll: true });
  }

  function commentTarget() {
    const side = el.commentPanel.querySelector('input[name="rk-target"]:checked');
    const ballot = state.ballot;
    if (!ballot) return null;
    return side && side.value === "right" ? ballot.right : ballot.left;
  }

  /** Post a comment on (or flag) one of the two ideas shown. */
  async function sendFeedback(kind) {
    const idea = commentTarget();
    if (!idea) return;
    const text = el.commentText.value.trim();
    el.commentError.hidden = true;
    if (kind === "comment" && !text) {
      el.commentError.textContent = L.t("comment.empty");
      el.commentError.hidden = false;
      el.commentText.focus();
      return;
    }
    const button = kind === "comment" ? el.commentSubmit : el.flag;
    button.disabled = true;
    try {
      await ensureVoter();
      const path = `/ideas/${encodeURIComponent(idea.id)}/${kind === "comment" ? "comments" : "flags"}`;
      await call("POST", path, kind === "comment" ? { text } : text ? { reason: text.slice(0, 200) } : {});
      el.commentText.value = "";
      closePanels();
      const msg = L.t(kind === "comment" ? "comment.posted" : "comment.flagged");
      setMessage(msg, "ok");
      announce(msg);
      emit(kind === "comment" ? "comment" : "flag", { idea: idea.id });
      el.comment.focus({ preventScroll: true });
    } catch (err) {
      const key = { text_too_long: "comment.too_long", text_empty: "comment.empty" }[err.code];
      el.commentError.textContent = key ? L.t(key) : problemText(err);
      el.commentError.hidden = false;
      emit("error", { code: err.code, status: err.status });
    } finally {
      button.disabled = false;
    }
  }

  function toggleSkip() {
    const open = el.skipPanel.hidden;
    closePanels();
    el.skipPanel.hidden = !open;
    el.skip.setAttribute("aria-expanded", String(open));
    if (open) {
      const first = el.reasons.querySelector("button");
      if (first) first.focus({ preventScroll: true });
    }
  }

  function toggleAdd() {
    const open = el.addPanel.hidden;
    closePanels();
    el.addPanel.hidden = !open;
    el.add.setAttribute("aria-expanded", String(open));
    el.ideaError.hidden = true;
    if (open) el.ideaText.focus({ preventScroll: true });
  }

  async function submitIdea(event) {
    event.preventDefault();
    const text = el.ideaText.value.trim();
    el.ideaError.hidden = true;
    if (!text) {
      el.ideaError.textContent = L.t("idea.empty");
      el.ideaError.hidden = false;
      el.ideaText.focus();
      return;
    }
    el.ideaSubmit.disabled = true;
    try {
      await ensureVoter();
      const idea = await call("POST", "/ideas", { text });
      el.ideaText.value = "";
      updateIdeaCount();
      closePanels();
      const msg = L.t(idea.status === "pending" ? "idea.pending" : idea.status === "active" ? "idea.active" : "idea.sent");
      setMessage(msg, "ok");
      announce(msg);
      emit("idea", { status: idea.status || null, idea: idea.id });
      el.add.focus({ preventScroll: true });
    } catch (err) {
      const key = {
        text_too_long: "idea.too_long",
        text_empty: "idea.empty",
        duplicate_idea: "error.duplicate_idea",
        limit_reached: "idea.limit",
        ideas_not_allowed: "error.ideas_not_allowed",
      }[err.code];
      const text = key ? L.t(key, { n: el.ideaText.maxLength }) : problemText(err);
      el.ideaError.textContent = text;
      el.ideaError.hidden = false;
      emit("error", { code: err.code, status: err.status });
    } finally {
      el.ideaSubmit.disabled = false;
    }
  }

  /* ---------------------------------------------------------------- thank you and ranking */

  function showThanks() {
    el.doneText.textContent = L.t("done.votes", { n: state.votes });
    el.showResults.hidden = !(state.survey && (state.survey.show_results ?? state.survey.show_results_to_voters));
    el.results.hidden = true;
    show(el.doneView);
    announce(`${state.said} ${L.t("live.thanks")}`.trim());
    state.said = "";
    el.doneView.focus({ preventScroll: true });
  }

  /** The ideas the survey's ranking lists: the top 10 of those with enough votes to be placed
   * (the others are named apart, unranked, by showUnplaced). */
  function shownIdeas(res) {
    return (res.ideas || []).filter((i) => i.placed !== false).slice(0, 10);
  }

  /** Ideas with too few votes to be placed: listed apart, never numbered (``none``: no idea is
   * placed yet, so the numbered list is empty and says why). */
  function showUnplaced(ideas, none) {
    const list = $("rk-unplaced-list");
    list.replaceChildren();
    for (const idea of ideas.slice(0, 10)) {
      const li = document.createElement("li");
      showIdea(li, idea.text);
      list.append(li);
    }
    if (ideas.length > 10) {
      const li = document.createElement("li");
      li.className = "rk-unplaced-more";
      li.textContent = L.t("results.more", { n: ideas.length - 10 });
      list.append(li);
    }
    $("rk-unplaced").hidden = ideas.length === 0;
    $("rk-ranking-none").hidden = !none;
  }

  /* ---------------------------------------------------------------- your own ranking */

  function node(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  /** An idea's text in quotes, isolated in its own direction. */
  function quoted(text) {
    // the quotation marks are the sentence's (its language and direction), the text its own
    const q = node("q", "rk-mine-quote");
    const inner = node("span");
    showIdea(inner, text);
    q.append(inner);
    return q;
  }

  /** What this participant's answers say (GET /me): the ideas they picked, their ranking
   * blended with everyone's, and where they differ from everyone. No rank ranges: a handful
   * of votes cannot place dozens of ideas, and the wording says so. */
  function renderMine(res) {
    const box = $("rk-mine");
    box.replaceChildren();
    const n = res.n_votes || 0;
    const need = res.votes_to_rank || 3;
    const basis = node("p", "rk-hint rk-mine-basis");
    if (res.status === "no_votes") basis.textContent = L.t("mine.no_votes");
    else if (res.status === "too_few_votes")
      basis.textContent = `${L.t("mine.based_on", { n })} ${L.t("mine.vote_more", { n: need })}`;
    else basis.textContent = L.t("mine.next_to_everyone", { n });
    box.append(basis);

    const favs = res.favourites || [];
    if (favs.length) {
      box.append(node("h4", "rk-mine-title", L.t("mine.favourites")));
      const list = node("ul", "rk-mine-list rk-mine-favourites");
      for (const f of favs.slice(0, 5)) {
        const li = node("li");
        const text = node("span");
        showIdea(text, f.text);
        li.append(text, node("span", "rk-mine-note", L.t("mine.picked", { picked: f.picked, n: f.shown })));
        list.append(li);
      }
      box.append(list);
    }

    const ranking = res.ranking || [];
    if (res.status === "ranked" && ranking.length) {
      box.append(node("h4", "rk-mine-title", L.t("mine.blended_title")));
      const share = L.percent(Math.round(100 * (res.yours || 0)) / 100);
      box.append(node("p", "rk-hint", L.t("mine.blended_hint", { share })));
      const list = node("ol", "rk-ranking rk-mine-ranking");
      for (const r of ranking.slice(0, 10)) {
        const li = node("li");
        const text = node("span");
        showIdea(text, r.text);
        const moved = r.crowd_position - r.position;
        let note = L.t("mine.not_compared");
        let title = L.t("mine.everyone_puts", { n: r.crowd_position });
        if (r.seen > 0 && moved > 0) note = L.t("mine.up", { n: moved });
        else if (r.seen > 0 && moved < 0) note = L.t("mine.down", { n: -moved });
        else if (r.seen > 0) note = L.t("mine.same");
        if (r.seen > 0) title += ` ${L.t("mine.compared", { n: r.seen })}`;
        const badge = node("span", `rk-mine-note${r.seen > 0 ? "" : " rk-mine-unseen"}`, note);
        badge.title = title;
        li.dataset.moved = String(r.seen > 0 ? moved : 0);
        li.append(node("span", "rk-rank", L.number(r.position)), text, badge);
        list.append(li);
      }
      box.append(list);
    }

    const decisive = res.decisive || 0;
    if (decisive > 0) {
      box.append(node("h4", "rk-mine-title", L.t("mine.differ_title")));
      const typical = Math.round(res.expected_agreed || 0);
      box.append(node("p", "rk-mine-agreement", L.t("mine.agreement", { agreed: res.agreed, n: decisive, typical })));
      const against = (res.disagreements || []).slice(0, 3);
      if (against.length) {
        const list = node("ul", "rk-mine-list rk-mine-differ");
        for (const d of against) {
          const li = node("li");
          const n = Math.max(1, Math.round(100 * d.crowd));
          li.append(...L.parts("mine.you_picked", { idea: quoted(d.text), other: quoted(d.over_text), n }));
          list.append(li);
        }
        box.append(list);
      }
    }
    box.hidden = false;
  }

  /** The survey's current ranking (``mine``: what this voter's own answers say, renderMine). */
  async function loadResults(mine) {
    const button = mine ? el.showMine : el.showResults;
    button.disabled = true;
    try {
      const res = mine ? await call("GET", "/me") : await call("GET", "/results", undefined, false);
      el.resultsTitle.textContent = L.t(mine ? "done.mine" : "results.title");
      for (const id of ["rk-results-hint", "rk-ranking"]) $(id).hidden = mine;
      $("rk-mine").hidden = true;
      el.ranking.replaceChildren();
      if (mine) {
        showUnplaced([], false);
        renderMine(res);
        el.results.hidden = false;
        announce(L.t("mine.shown"));
        return;
      }
      for (const idea of shownIdeas(res)) {
        const li = document.createElement("li");
        const rank = document.createElement("span");
        rank.className = "rk-rank";
        rank.textContent =
          idea.rank_lo !== undefined && idea.rank_lo !== idea.rank_hi
            ? L.t("results.range", { lo: idea.rank_lo, hi: idea.rank_hi })
            : L.number(idea.rank);
        const text = document.createElement("span");
        showIdea(text, idea.text);
        const score = document.createElement("span");
        score.className = "rk-score";
        if (typeof idea.p_beats_random === "number") {
          const label = document.createElement("span");
          label.className = "rk-visually-hidden";
          label.textContent = `${L.t("results.chance_label")} `;
          score.append(label, L.number(Math.round(idea.p_beats_random * 100)));
          score.title = L.t("results.chance_title");
        }
        li.append(rank, text, score);
        el.ranking.append(li);
      }
      const unplaced = (res.ideas || []).filter((i) => i.placed === false);
      showUnplaced(unplaced, el.ranking.childElementCount === 0);
      el.results.hidden = false;
      announce(L.t("results.shown"));
    } catch (err) {
      setMessage(problemText(err), "error");
    } finally {
      button.disabled = false;
    }
  }

  /* ---------------------------------------------------------------- groups */

  function chooseGroup(groups) {
    el.groups.replaceChildren();
    const pick = async (g) => {
      state.group = g;
      state.interacted = true;
      el.groupView.hidden = true;
      await nextPair();
    };
    for (const g of groups) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "rk-reason";
      showIdea(b, g); // the organiser's words, in their own direction
      b.addEventListener("click", () => pick(g));
      el.groups.append(b);
    }
    const none = document.createElement("button");
    none.type = "button";
    none.className = "rk-reason";
    none.textContent = L.t("group.none");
    none.addEventListener("click", () => pick(null));
    el.groups.append(none);
    show(el.groupView);
  }

  /* ---------------------------------------------------------------- wiring */

  el.left.addEventListener("click", () => answer("left"));
  el.right.addEventListener("click", () => answer("right"));
  el.skip.addEventListener("click", toggleSkip);
  el.add.addEventListener("click", toggleAdd);
  el.comment.addEventListener("click", toggleComment);
  el.commentPanel.addEventListener("submit", (event) => {
    event.preventDefault();
    sendFeedback("comment");
  });
  el.flag.addEventListener("click", () => sendFeedback("flag"));
  el.undo.addEventListener("click", undo);
  el.ideaCancel.addEventListener("click", () => {
    closePanels();
    el.add.focus({ preventScroll: true });
  });
  el.addPanel.addEventListener("submit", submitIdea);
  el.ideaText.addEventListener("input", updateIdeaCount);
  el.reasons.addEventListener("click", (event) => {
    const b = event.target.closest("button");
    if (!b || b.disabled) return;
    if (b.dataset.choice === "tie") return answer("tie");
    if (b.dataset.reason === "other") {
      el.other.hidden = !el.other.hidden;
      b.setAttribute("aria-expanded", String(!el.other.hidden));
      if (!el.other.hidden) el.otherText.focus({ preventScroll: true });
      return;
    }
    return answer("skip", b.dataset.reason);
  });
  el.other.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = el.otherText.value.trim();
    el.otherText.value = "";
    answer("skip", "other", text);
  });
  el.cont.addEventListener("click", () => {
    state.interacted = true;
    nextPair();
  });
  el.showResults.addEventListener("click", () => loadResults(false));
  el.showMine.addEventListener("click", () => loadResults(true));
  el.retry.addEventListener("click", () => {
    const again = state.retry;
    setMessage("");
    if (again) again();
  });

  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const t = event.target;
    const opener = !el.addPanel.hidden ? el.add : !el.commentPanel.hidden ? el.comment : !el.skipPanel.hidden ? el.skip : null;
    if (event.key === "Escape" && opener) {
      closePanels();
      opener.focus({ preventScroll: true });
      return;
    }
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "INPUT" || t.isContentEditable)) return;
    if (el.voteView.hidden || state.busy || !state.ballot) return;
    // Arrows point at the ideas as they are laid out: right to left, the first idea is on the right.
    const rtl = L.dir === "rtl";
    if (event.key === "1" || event.key === (rtl ? "ArrowRight" : "ArrowLeft")) {
      event.preventDefault();
      el.left.focus({ preventScroll: true });
      answer("left");
    } else if (event.key === "2" || event.key === (rtl ? "ArrowLeft" : "ArrowRight")) {
      event.preventDefault();
      el.right.focus({ preventScroll: true });
      answer("right");
    }
  });

  async function start() {
    if (!/^[A-Za-z0-9_.~-]{1,128}$/.test(surveyId)) {
      fail(new ApiError(404, { code: "survey_not_found" }));
      el.question.removeAttribute("data-i18n");
      el.question.textContent = L.t("page.not_found");
      return;
    }
    let survey;
    try {
      survey = await call("GET", "", undefined, false);
    } catch (err) {
      el.question.removeAttribute("data-i18n");
      el.question.textContent = L.t(err.code === "survey_not_found" ? "page.not_found" : "page.default_question");
      fail(err, start);
      return;
    }
    state.survey = survey;
    // Survey defaults first, then the embed's URL parameters win.
    applyTheme(Object.assign({}, survey.theme || {}, urlTheme()));
    if (Number.isInteger(survey.idea_max_chars) && survey.idea_max_chars > 0) el.ideaText.maxLength = survey.idea_max_chars;
    const mode = identityMode();
    if (mode === "site") el.privacy.dataset.i18n = "status.site";
    el.question.removeAttribute("data-i18n");
    setLanguage(); // the survey's own setting comes first
    const tr = survey.translations || {};
    const pick = (field) => Object.fromEntries(Object.entries(tr).filter(([, v]) => v && v[field]).map(([k, v]) => [k, v[field]]));
    const question = localised(survey.question, pick("question"));
    showText(el.question, question);
    document.title = question.text;
    if (survey.description) {
      showText(el.desc, localised(survey.description, pick("description")));
      el.desc.hidden = false;
    }
    el.add.hidden = !survey.allow_ideas;
    if (mode === "site") {
      // one voter per site user: always ask the site who is signed in, never reuse a stored token
      saveToken(null);
    } else {
      state.token = loadToken();
    }
    const fromHost = state.token || mode === "site" ? null : tokenFromHost(); // before "ready"
    emit("ready", { status: survey.status, question: survey.question });
    if (fromHost) state.token = await fromHost;
    if (state.token) {
      // A returning participant: show their count (and drop a token the server no longer knows).
      try {
        const me = await call("GET", "/me");
        if (Number.isInteger(me.n_votes)) state.votes = me.n_votes;
      } catch (err) {
        if (err.status === 401) {
          state.token = null;
          saveToken(null);
        }
      }
    }
    updateCount();
    if (survey.status !== "open") {
      fail(new ApiError(409, { code: "survey_closed" }));
      return;
    }
    if (!state.token && mode === "proof_of_work") {
      state.proof = solveProof(); // start now: it runs while the participant reads (or picks a group)
      state.proof.catch(() => {}); // a failure is reported when the proof is awaited
    } else if (mode === "proof_of_work") {
      // a returning voter holds no challenge for their next pair: ask for one and solve it now
      state.ballotProof = call("GET", "/ballots/challenge").then(solveChallenge);
      state.ballotProof.catch(() => {});
    }
    const groups = Array.isArray(survey.groups) ? survey.groups : [];
    if (!state.token && !state.group && groups.length > 0) {
      chooseGroup(groups);
      return;
    }
    if (state.group && !groups.includes(state.group)) state.group = null;
    await nextPair();
  }

  /** The organiser's text ({text, lang}) in an element, tagged with its language when known. */
  function showText(node, { text, lang }) {
    node.textContent = text;
    if (lang) node.lang = lang;
    else node.removeAttribute("lang");
  }

  setLanguage(); // the embed's and the browser's choice, until the survey says otherwise
  start();
})();
