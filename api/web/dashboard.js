/* ranker organiser dashboard (served at /dashboard). Plain ES2020, no build step, no CDN.
 *
 * Talks to the organiser API of docs/api.md with `Authorization: Bearer <key>`; the key is kept in
 * sessionStorage (this tab only). Live updates come from the survey's server-sent event stream,
 * opened with a short-lived ticket because EventSource cannot send headers. Every piece of survey
 * data (idea text, comments, group names) is inserted with textContent, never as HTML.
 *
 * Words: every string comes from the message catalogues of api/web/i18n/ (dashboard.LANG.js,
 * through i18n.js), in the language of ?lang= or else the browser's first language that has one,
 * else English; numbers and dates through Intl in that language. Survey content (question,
 * ideas, comments) is the organiser's and participants' own text, never translated here.
 */
(() => {
  "use strict";

  const KEY_STORAGE = "ranker:organiser-key";
  const MODELS = ["bt", "bt-online", "elo", "crowd-bt"];
  const SAMPLERS = ["settle", "adaptive", "info-gain", "uncertainty", "thompson", "topk", "balanced", "random"];
  const EXPORTS = ["votes", "skips", "ideas", "comments"];

  const $ = (id) => document.getElementById(id);

  /* ---------------------------------------------------------------- language */

  const I18N = window.rankerI18n;
  const wanted = [new URLSearchParams(location.search).get("lang"), ...(navigator.languages || [navigator.language]), "en"];
  const L = I18N.create("dashboard", I18N.pick(wanted.filter(Boolean), Object.keys(I18N.catalogues.dashboard || {})) || "en");
  const t = L.t;
  document.documentElement.lang = L.lang;
  document.documentElement.dir = L.dir;
  document.title = t("page.title");
  I18N.translate(document, L);
  {
    const code = document.createElement("code");
    code.textContent = "ranker demo";
    $("db-signin-hint").replaceChildren(...L.parts("signin.hint", { command: code }));
    const level = document.createElement("span");
    level.id = "db-level";
    level.textContent = L.percent(0.95);
    $("db-ranking-hint").replaceChildren(...L.parts("ranking.hint", { level }));
    const tag = (cls, key) => {
      const n = document.createElement("span");
      n.className = cls;
      n.textContent = t(key);
      return n;
    };
    $("db-groups-hint").replaceChildren(
      ...L.parts("groups.hint", {
        higher: tag("db-shift db-shift-up", "groups.higher"),
        lower: tag("db-shift db-shift-down", "groups.lower"),
        disagree: tag("db-flag-inline", "groups.disagree"),
      }),
    );
    $("set-margin-default").textContent = t("settings.margin_default", { split: split(0.55) });
  }

  /** "55/45" for a margin of 0.55, in the page's digits. */
  function split(margin) {
    const a = Math.round(100 * margin);
    return `${L.number(a)}/${L.number(100 - a)}`;
  }
  const state = {
    key: null,
    surveys: [],
    survey: null,
    results: null,
    ideas: [],
    prevRanks: new Map(),
    stream: null,
    streamRetry: 0,
    streamTimer: 0,
    tab: "ranking",
    refreshTimer: 0,
    enoughTimer: 0,
    flagged: [],
    voidingAll: false,
  };

  /* ---------------------------------------------------------------- helpers */

  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    if (props) {
      for (const [k, v] of Object.entries(props)) {
        if (v === undefined || v === null || v === false) continue;
        if (k === "class") node.className = v;
        else if (k === "text") node.textContent = v;
        else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
        else if (k === "dataset") Object.assign(node.dataset, v);
        else node.setAttribute(k, v === true ? "" : String(v));
      }
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  /* Participants' text (ideas, comments, flag reasons) is shown in its own direction: each in
   * its own element with dir="auto" (CSS unicode-bidi: isolate), or between FSI and PDI inside
   * a sentence, so a right-to-left idea cannot reorder what is around it (labels that only
   * screen readers read just drop the controls). Bidi controls are stripped on input; older
   * ideas may still hold one (U+202E shows "evil" as "live"), so they are dropped here too. */
  const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  const plain = (text) => String(text ?? "").replace(BIDI_CONTROLS, "");
  const isolated = (text) => `\u2068${plain(text)}\u2069`;
  const said = (text, cls = "db-idea-text") => h("span", { class: cls, dir: "auto", text: plain(text) });

  const fmtInt = new Intl.NumberFormat(L.lang);
  const fmt2 = new Intl.NumberFormat(L.lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const num = (x) => (typeof x === "number" && Number.isFinite(x) ? x : null);
  /** Seconds since the epoch from a number (JSON bodies) or an ISO 8601 string (exports). */
  const seconds = (x) => {
    if (typeof x === "string") {
      const ms = Date.parse(x);
      return Number.isFinite(ms) ? ms / 1000 : null;
    }
    return num(x);
  };

  function when(ts) {
    if (!num(ts)) return "";
    return L.date(new Date(ts * 1000), { dateStyle: "medium", timeStyle: "short" });
  }

  /** Accept the API's RankedIdea and tolerate the core's field names. */
  function normIdea(r) {
    const left = num(r.exposure_left) ?? num(r.shown_left) ?? 0;
    const right = num(r.exposure_right) ?? num(r.shown_right) ?? 0;
    return {
      id: r.id ?? r.idea,
      text: String(r.text ?? ""),
      status: r.status || "active",
      score: num(r.score),
      low: num(r.low),
      high: num(r.high),
      rank: r.rank,
      rankLo: r.rank_lo ?? r.rank,
      rankHi: r.rank_hi ?? r.rank,
      tier: r.tier,
      placed: r.placed !== false,
      p: num(r.p_beats_random),
      wins: r.wins ?? 0,
      losses: r.losses ?? 0,
      ties: r.ties ?? 0,
      skips: r.skips ?? 0,
      exposure: num(r.exposure) ?? left + right,
      left,
      right,
    };
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
      this.status = status;
      this.code = (problem && problem.code) || (status === 0 ? "network_error" : `http_${status}`);
      this.errors = (problem && problem.errors) || [];
    }
  }

  async function api(method, path, opts = {}) {
    const headers = { Accept: opts.accept || "application/json", Authorization: `Bearer ${state.key}` };
    let body;
    if (opts.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers["Content-Type"] = opts.contentType || "text/plain";
      body = opts.body;
    }
    let res;
    try {
      res = await fetch(path, { method, headers, body, cache: "no-store", credentials: "omit" });
    } catch (_) {
      throw new ApiError(0, { detail: t("main.unreachable") });
    }
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch (_) {
        problem = null;
      }
      const err = new ApiError(res.status, problem);
      if (res.status === 401 && !opts.signin) signOut(t("signin.ended"));
      throw err;
    }
    if (opts.raw) return res;
    if (res.status === 204) return null;
    return res.json();
  }

  const surveyPath = (suffix = "") => `/v1/surveys/${encodeURIComponent(state.survey.id)}${suffix}`;

  /** An idea's status in words ("active", "pending", ...). */
  function statusWord(status) {
    return ["active", "pending", "rejected", "retired"].includes(status) ? t(`ideas.status.${status}`) : status;
  }

  function note(id, text, kind) {
    const n = $(id);
    n.textContent = text || "";
    if (kind) n.dataset.kind = kind;
    else delete n.dataset.kind;
  }

  function banner(text) {
    $("db-banner").textContent = text || "";
    $("db-banner").hidden = !text;
  }

  /* ---------------------------------------------------------------- sign in / out */

  function showSignin(message) {
    $("db-app").hidden = true;
    $("db-signin").hidden = false;
    const err = $("db-signin-error");
    err.textContent = message || "";
    err.hidden = !message;
    $("db-key").focus();
  }

  function signOut(message) {
    stopStream();
    state.key = null;
    try {
      sessionStorage.removeItem(KEY_STORAGE);
    } catch (_) {
      /* storage unavailable */
    }
    showSignin(message);
  }

  async function signIn(event) {
    event.preventDefault();
    const key = $("db-key").value.trim();
    if (!key) return showSignin(t("signin.enter_key"));
    $("db-signin-submit").disabled = true;
    state.key = key;
    try {
      const list = await api("GET", "/v1/surveys", { signin: true });
      try {
        sessionStorage.setItem(KEY_STORAGE, key);
      } catch (_) {
        /* keep it in memory only */
      }
      $("db-key").value = "";
      await boot(list);
    } catch (err) {
      state.key = null;
      showSignin(err.status === 401 ? t("signin.refused") : err.message);
    } finally {
      $("db-signin-submit").disabled = false;
    }
  }

  /* ---------------------------------------------------------------- surveys */

  async function boot(list) {
    $("db-signin").hidden = true;
    $("db-app").hidden = false;
    state.surveys = (list && list.surveys) || [];
    renderSurveyPicker();
    const wanted = new URLSearchParams(location.hash.slice(1)).get("survey");
    const pick = state.surveys.find((s) => s.id === wanted) || state.surveys[0];
    if (!pick) {
      $("db-question").textContent = t("main.no_surveys");
      banner(t("main.no_surveys_banner"));
      return;
    }
    await selectSurvey(pick.id);
  }

  function renderSurveyPicker() {
    const sel = $("db-survey");
    sel.replaceChildren(...state.surveys.map((s) => h("option", { value: s.id, text: s.question, dir: "auto" })));
    if (state.survey) sel.value = state.survey.id;
  }

  async function selectSurvey(id) {
    stopStream();
    delete $("db-app").dataset.survey;
    state.prevRanks = new Map();
    state.results = null;
    const survey = await api("GET", `/v1/surveys/${encodeURIComponent(id)}`);
    state.survey = survey;
    history.replaceState(null, "", `#survey=${encodeURIComponent(id)}`);
    $("db-survey").value = id;
    renderSurvey();
    await Promise.allSettled([loadResults(), loadIdeas(), loadVoters()]);
    $("db-app").dataset.survey = id; // the survey's data is on screen
    refreshTab();
    startStream();
  }

  function renderSurvey() {
    const s = state.survey;
    $("db-question").removeAttribute("data-i18n");
    $("db-question").textContent = s.question;
    $("db-question").dir = "auto";
    document.title = t("page.title_survey", { question: s.question });
    const status = $("db-status");
    status.removeAttribute("data-i18n");
    status.textContent = t(`status.${s.status}`);
    status.dataset.status = s.status;
    $("db-open").disabled = s.status === "open";
    $("db-close").disabled = s.status !== "open";
    banner(s.status === "draft" ? t("main.draft_banner") : "");
    // Settings form
    $("set-question").value = s.question || "";
    $("set-description").value = s.description || "";
    fillSelect($("set-model"), MODELS, s.model);
    fillSelect($("set-sampler"), SAMPLERS, s.sampler);
    $("set-top-k").value = String(s.top_k ?? 10);
    const margin = String(s.margin ?? 0.55);
    const sel = $("set-margin");
    if (![...sel.options].some((o) => o.value === margin)) sel.append(h("option", { value: margin }, split(s.margin)));
    sel.value = margin;
    $("set-allow-ideas").checked = !!s.allow_ideas;
    $("set-moderate").checked = !!s.moderate_ideas;
    $("set-show-results").checked = !!(s.show_results ?? s.show_results_to_voters);
    $("set-down-weight-fields").hidden = !("down_weight_flagged" in s);
    $("set-down-weight").checked = !!s.down_weight_flagged;
    $("set-verify-fields").hidden = !("verify_voters" in s);
    $("set-verify").checked = !!s.verify_voters;
    $("set-language-fields").hidden = !("translations" in s);
    $("set-language").value = s.language || "";
    $("set-translations").replaceChildren(
      ...Object.entries(s.translations || {}).map(([tag, tr]) => translationRow(tag, tr.question, tr.description)),
    );
    $("set-groups").value = (s.groups || []).join(", ");
    $("set-origins").value = (s.allowed_origins || s.embed_origins || []).join("\n");
    // Widget theme defaults only if this server stores them (else themes come from the embed).
    $("set-theme-fields").hidden = !("theme" in s);
    const theme = s.theme || {};
    if (/^#[0-9a-f]{6}$/i.test(theme.accent || "")) $("set-accent").value = theme.accent;
    $("set-theme").value = ["auto", "light", "dark"].includes(theme.theme) ? theme.theme : "auto";
    renderShare();
  }

  /** A language's name in the dashboard's language ("Welsh" for cy), else the tag itself. */
  function languageName(tag) {
    return L.languageName(tag);
  }

  /** One language of the survey's translations: tag, question, description, Remove. */
  function translationRow(tag = "", question = "", description = "") {
    const row = h("div", { class: "db-translation" });
    const tagInput = h("input", { class: "db-input", value: tag, spellcheck: "false", placeholder: "cy", translate: "no", "aria-label": t("settings.tag"), "data-field": "tag" });
    const q = h("input", { class: "db-input", value: question, maxlength: "300", placeholder: t("settings.question_placeholder"), dir: "auto", "data-field": "question" });
    const d = h("textarea", { class: "db-input db-translation-desc", rows: "2", maxlength: "5000", placeholder: t("settings.description_placeholder"), dir: "auto", "data-field": "description" });
    d.value = description;
    const label = () => {
      const language = tagInput.value.trim() ? languageName(tagInput.value.trim()) : t("settings.new_language");
      q.setAttribute("aria-label", t("settings.question_in", { language }));
      d.setAttribute("aria-label", t("settings.description_in", { language }));
    };
    label();
    tagInput.addEventListener("input", label);
    const remove = h("button", { class: "db-btn db-btn-small", type: "button", text: t("settings.remove") });
    remove.addEventListener("click", () => {
      row.remove();
      $("set-add-translation").focus();
    });
    row.append(tagInput, q, remove, d);
    return row;
  }

  /** The translations of the Settings form, {tag: {question, description}} (rows without a tag are dropped). */
  function formTranslations() {
    const out = {};
    for (const row of $("set-translations").querySelectorAll(".db-translation")) {
      const get = (f) => row.querySelector(`[data-field="${f}"]`).value.trim();
      if (get("tag")) out[get("tag")] = { question: get("question"), description: get("description") };
    }
    return out;
  }

  function fillSelect(sel, options, current) {
    const all = current && !options.includes(current) ? [current, ...options] : options;
    sel.replaceChildren(
      ...all.map((o) => h("option", { value: o, text: L.has(helpKey(sel, o)) ? t("choice", { id: o, label: t(helpKey(sel, o)) }) : o })),
    );
    if (current) sel.value = current;
    describeChoice(sel);
  }

  /** What each rating model and pair sampler does, in a line (docs/models.md, docs/samplers.md):
   * the catalogue's "model.NAME" / "sampler.NAME" (a label) and ".help" (what it does). */
  const HELP = { "set-model": "model", "set-sampler": "sampler" };
  const helpKey = (sel, value) => `${HELP[sel.id]}.${value}`;

  function describeChoice(sel) {
    const hint = $(`${sel.id}-hint`);
    const key = `${helpKey(sel, sel.value)}.help`;
    if (hint) hint.textContent = L.has(key) ? t(key) : t("settings.see_docs");
  }

  /* ---------------------------------------------------------------- results */

  async function loadResults() {
    const res = await api("GET", surveyPath("/results"));
    renderResults(res);
    const k = wantedK(res);
    if (neededK(res) !== k) {
      clearTimeout(state.enoughTimer);
      await loadEnough(k);
    }
  }

  /** k of "settle the top k": the survey's top_k, or half the active ideas when top_k would
   * take them all (a top 10 of 8 ideas says nothing). */
  function wantedK(res) {
    const n = (res.ideas || []).filter((i) => (i.status || "active") === "active").length;
    const k = (state.survey && num(state.survey.top_k)) || 10;
    return k < n ? k : Math.max(1, Math.floor(n / 2));
  }

  function neededK(res) {
    const vn = res.votes_needed || {};
    return vn.top_k ?? vn.k;
  }

  async function loadEnough(k) {
    state.enoughTimer = 0;
    try {
      renderEnough(await api("GET", surveyPath(`/results?top_k=${k}`)));
    } catch (_) {
      /* the card keeps its last value */
    }
  }

  function renderResults(res) {
    state.results = res;
    if (state.ideas && state.ideas.length) renderIdeas(); // the per-idea vote counts
    const ideas = (res.ideas || []).map(normIdea);
    ideas.sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    $("db-n-votes").textContent = fmtInt.format(res.n_votes ?? 0);
    $("db-n-voters").textContent = fmtInt.format(res.n_voters ?? 0);
    $("db-n-ideas").textContent = fmtInt.format(ideas.filter((i) => i.status === "active").length);
    if (num(res.level)) $("db-level").textContent = L.percent(Math.round(res.level * 100) / 100);
    $("db-updated").textContent = t("main.updated", { time: L.date(new Date(), { timeStyle: "medium" }) });
    const k = wantedK(res);
    if (neededK(res) === k) renderEnough(res);
    else if (!state.enoughTimer) state.enoughTimer = setTimeout(() => loadEnough(k), 300);
    renderRanking(ideas);
  }

  const settleWord = (status) => (["in", "out", "tied", "open"].includes(status) ? t(`settle.${status}`) : status);

  /** "3–5, 9" for sorted places [3, 4, 5, 9]. */
  function placeRanges(places) {
    const out = [];
    for (let i = 0; i < places.length; i++) {
      let j = i;
      while (j + 1 < places.length && places[j + 1] === places[j] + 1) j++;
      out.push(i === j ? L.number(places[i]) : t("ranking.range", { lo: places[i], hi: places[j] }));
      i = j;
    }
    return L.list(out);
  }

  function renderEnough(res) {
    const vn = res.votes_needed || {};
    const k = vn.top_k ?? vn.k ?? 10;
    const n = res.n_votes ?? 0;
    const bar = $("db-enough-progress");
    const text = $("db-enough-text");
    const places = vn.places || [];
    const margin = num(vn.margin) ?? 0.55;
    const level = L.percent(Math.round(100 * (num(vn.level) ?? num(res.level) ?? 0.95)) / 100);
    const need = num(vn.votes_needed);
    const lo = num(vn.votes_needed_low);
    const hi = num(vn.votes_needed_high);
    $("db-enough-label").removeAttribute("data-i18n");
    $("db-enough-label").textContent = t("enough.title_k", { k });
    bar.value = Math.round(100 * (vn.settled ? 1 : num(vn.progress) ?? 0));
    // how the server computed it, in its own (English) words: shown to English readers only
    text.title = vn.method && L.lang === "en" ? t("enough.how", { method: vn.method }) : "";
    if (vn.settled === true) {
      text.textContent = t("enough.settled", { k, level, margin: split(margin) });
    } else if (n === 0) {
      text.textContent = t("enough.no_votes");
    } else if (need !== null) {
      let range = "";
      if (lo !== null && hi !== null) range = t("enough.range", { lo, hi });
      else if (lo !== null) range = t("enough.at_least", { lo });
      text.textContent = t("enough.more", { n: need, range, k });
    } else if (num(vn.votes_needed_above)) {
      text.textContent = t("enough.beyond", { n: vn.votes_needed_above });
    } else {
      text.textContent = t("enough.unknown");
    }
    const texts = new Map((res.ideas || []).map((i) => [String(i.idea ?? i.id), String(i.text ?? "")]));
    renderSettlePlaces(places, k, margin, n, (id) => texts.get(String(id)) || ideaText(id));
    renderOrder(vn.order, n, level);
  }

  /** The whole order beyond the top k: how many neighbouring places are told apart or
   * practically tied, and where the order is still open ("places 4–7, 9–12"). */
  function renderOrder(order, n, level) {
    if (!order || !order.borders || n === 0) return;
    const notes = $("db-settle-notes");
    if (order.settled) {
      notes.append(h("li", { "data-order": "settled" }, t("settle.order_settled", { level })));
      return;
    }
    const runs = [];
    for (const r of order.open_after || []) {
      if (runs.length && runs[runs.length - 1][1] === r) runs[runs.length - 1][1] = r + 1;
      else runs.push([r, r + 1]);
    }
    const shown = runs.slice(0, 6).map(([lo, hi]) => t("ranking.range", { lo, hi }));
    const places = L.list(shown) + (runs.length > 6 ? " …" : "");
    const counts = { decided: order.decided, n: order.borders, places };
    notes.append(h("li", { "data-order": "open" }, t("settle.order_open", counts)));
  }

  /** The strip of ideas by place, and what is settled, tied and open, in words. */
  function renderSettlePlaces(places, k, margin, n, textOf) {
    const strip = $("db-settle-strip");
    const notes = $("db-settle-notes");
    strip.replaceChildren();
    notes.replaceChildren();
    strip.hidden = places.length === 0 || n === 0;
    if (strip.hidden) return;
    const by = { in: [], out: [], tied: [], open: [] };
    places.forEach((p, i) => {
      const place = i + 1;
      (by[p.status] || by.open).push(place);
      const words = t("settle.place", { place, idea: isolated(textOf(p.idea)), status: settleWord(p.status) });
      const li = h("li", { "data-status": p.status, title: words }, h("span", { class: "db-visually-hidden" }, words));
      if (place === k) li.classList.add("is-boundary");
      strip.append(li);
    });
    const names = (list) => L.list(list.slice(0, 4).map((pl) => isolated(textOf(places[pl - 1].idea)))) + (list.length > 4 ? " …" : "");
    const counts = { n: places.length, in: by.in.length, out: by.out.length, tied: by.tied.length, open: by.open.length };
    notes.append(h("li", {}, t("settle.counts", counts)));
    if (by.tied.length) {
      notes.append(h("li", {}, t("settle.tied_note", { places: placeRanges(by.tied), ideas: names(by.tied), margin: split(margin), k })));
    }
    if (by.open.length) {
      notes.append(h("li", {}, t("settle.open_note", { places: placeRanges(by.open), ideas: names(by.open) })));
    }
  }

  function niceTicks(lo, hi, count) {
    const span = hi - lo;
    if (!(span > 0)) return [lo];
    const step0 = span / count;
    const mag = 10 ** Math.floor(Math.log10(step0));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= step0) || step0;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9; t += step) ticks.push(Math.round(t / step) * step);
    return ticks;
  }

  function renderRanking(ideas) {
    const body = $("db-ranking-body");
    $("db-ranking-empty").hidden = ideas.length > 0;
    const finite = ideas.filter((i) => i.low !== null && i.high !== null);
    let lo = Math.min(...finite.map((i) => i.low), 0);
    let hi = Math.max(...finite.map((i) => i.high), 0);
    if (!Number.isFinite(lo) || !Number.isFinite(hi) || hi <= lo) {
      lo = -1;
      hi = 1;
    }
    const pad = (hi - lo) * 0.04;
    lo -= pad;
    hi += pad;
    const x = (v) => `${(100 * (v - lo)) / (hi - lo)}%`;

    const axis = $("db-axis");
    axis.replaceChildren(
      ...niceTicks(lo, hi, 4).map((t) => {
        const s = h("span", { text: fmt2.format(t).replace(/\.00$/, "") });
        s.style.left = x(t);
        return s;
      }),
    );

    const rows = [];
    let band = "b";
    let lastTier = null;
    const unplaced = ideas.filter((i) => !i.placed).length;
    for (const idea of ideas) {
      if (!idea.placed && lastTier !== "unplaced") {
        // ideas with too few answers: their own section, after the ranking, never ranked
        lastTier = "unplaced";
        rows.push(unplacedHead(unplaced, ideas.length - unplaced));
      }
      const tierStart = idea.placed && idea.tier !== lastTier;
      if (tierStart) band = band === "a" ? "b" : "a";
      if (idea.placed) lastTier = idea.tier;
      const rankText = idea.rankLo === idea.rankHi ? L.number(idea.rank) : t("ranking.range", { lo: idea.rankLo, hi: idea.rankHi });
      const plot = h("div", { class: "db-plot", "aria-hidden": "true" });
      if (idea.placed && lo < 0 && hi > 0) {
        const zero = h("span", { class: "db-plot-zero" });
        zero.style.left = x(0);
        plot.append(zero);
      }
      const answers = idea.wins + idea.losses + idea.ties;
      if (!idea.placed) {
        plot.append(h("span", { class: "db-plot-none", text: t("ranking.votes_so_far", { n: answers }) }));
      } else if (idea.low !== null && idea.high !== null) {
        const bar = h("span", { class: "db-plot-bar" });
        bar.style.left = x(idea.low);
        bar.style.width = `${(100 * (idea.high - idea.low)) / (hi - lo)}%`;
        plot.append(bar);
      }
      if (idea.placed && idea.score !== null) {
        const dot = h("span", { class: "db-plot-dot" });
        dot.style.left = x(idea.score);
        plot.append(dot);
      }
      const plotText = !idea.placed
        ? t("ranking.not_placed", { n: answers })
        : idea.score === null
          ? t("ranking.no_score")
          : idea.low !== null
            ? t("ranking.interval_text", { score: fmt2.format(idea.score), low: fmt2.format(idea.low), high: fmt2.format(idea.high) })
            : t("ranking.score_text", { score: fmt2.format(idea.score) });
      const prev = state.prevRanks.get(idea.id);
      const tr = h(
        "tr",
        {
          "data-idea": idea.id,
          "data-tier-band": idea.placed ? band : "unplaced",
          "data-placed": idea.placed ? "true" : "false",
          "data-tier": idea.placed ? idea.tier : null,
          "data-rank-lo": idea.placed ? idea.rankLo : null,
          "data-rank-hi": idea.placed ? idea.rankHi : null,
          class: [tierStart ? "db-tier-start" : "", idea.placed && prev !== undefined && prev !== idea.rank ? "db-changed" : ""]
            .filter(Boolean)
            .join(" "),
        },
        h(
          "td",
          { class: "db-col-rank" },
          idea.placed
            ? h("span", { class: "db-rank", text: rankText })
            : h("span", { class: "db-unplaced-badge", text: t("ranking.not_enough") }),
          " ",
          idea.placed && idea.tier !== undefined && idea.tier !== null ? h("span", { class: "db-tier", text: t("ranking.tier", { n: idea.tier }) }) : null,
        ),
        h(
          "td",
          { class: "db-col-idea" },
          said(idea.text),
          idea.status !== "active" ? h("span", { class: "db-idea-status", text: statusWord(idea.status) }) : null,
        ),
        h("td", { class: "db-col-plot" }, plot, h("span", { class: "db-visually-hidden", text: plotText })),
        h("td", { class: "db-num", "data-label": t("ranking.beats") }, idea.p === null || !idea.placed ? "–" : L.percent(Math.round(idea.p * 100) / 100)),
        h(
          "td",
          { class: "db-num", "data-label": t("ranking.wlt") },
          `${L.number(idea.wins)} / ${L.number(idea.losses)} / ${L.number(idea.ties)} `,
          h("span", { class: "db-sub", text: t("ranking.skipped", { n: idea.skips }) }),
        ),
        h(
          "td",
          { class: "db-num", "data-label": t("ranking.shown") },
          `${fmtInt.format(idea.exposure)} `,
          h("span", { class: "db-sub", text: t("ranking.sides", { left: idea.left, right: idea.right }) }),
        ),
      );
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    state.prevRanks = new Map(ideas.map((i) => [i.id, i.rank]));
  }

  /** The heading row of the ideas with too few answers to be placed (listed after the ranking). */
  function unplacedHead(count, placed) {
    return h(
      "tr",
      { class: "db-unplaced-head", id: "db-unplaced-head" },
      h(
        "th",
        { colspan: "6", scope: "rowgroup" },
        h("span", { class: "db-unplaced-title", text: t("ranking.unplaced_title") }),
        " ",
        h("span", {
          class: "db-sub",
          text: placed ? t("ranking.unplaced_text_placed", { n: count, placed }) : t("ranking.unplaced_text", { n: count }),
        }),
      ),
    );
  }

  /* ---------------------------------------------------------------- groups */

  /** What a group's column says instead of an order when the group is not ranked yet. */
  function groupNote(g) {
    if (g.status === "no_votes") return t("groups.no_votes");
    if (g.status === "too_few_votes") return g.need ? t("groups.too_few_need", { n: g.n, need: g.need }) : t("groups.too_few");
    return "";
  }

  /** A ranked group's cell: rank range in the group, its score interval, and ▲/▼ when the
   * group credibly rates the idea higher/lower than everyone. */
  function groupCell(g, idea, x, disagree) {
    const raw = g.raw.get(idea.id);
    const cls = ["db-num", "db-group-cell"];
    if (disagree) cls.push("db-disagree-cell");
    if (!raw) return h("td", { class: cls.join(" "), text: "–" });
    const i = normIdea(raw);
    const shift = g.shifts.get(idea.id);
    const level = L.percent(Math.round(g.level * 100) / 100);
    const rank = raw.placed === false ? "–" : i.rankLo === i.rankHi ? L.number(i.rank) : t("ranking.range", { lo: i.rankLo, hi: i.rankHi });
    const plot = h("span", { class: "db-plot db-plot-mini", "aria-hidden": "true" });
    if (i.low !== null && i.high !== null) {
      const bar = h("span", { class: "db-plot-bar" });
      bar.style.left = x(i.low);
      bar.style.width = `calc(${x(i.high)} - ${x(i.low)})`;
      plot.append(bar);
    }
    if (i.score !== null) {
      const dot = h("span", { class: "db-plot-dot" });
      dot.style.left = x(i.score);
      plot.append(dot);
    }
    let badge = null;
    if (shift && shift.credible) {
      const up = shift.direction === "higher";
      cls.push(up ? "db-shift-higher" : "db-shift-lower");
      const p = L.percent(Math.round(100 * (up ? shift.p_higher : 1 - shift.p_higher)) / 100);
      badge = h("span", {
        class: `db-shift ${up ? "db-shift-up" : "db-shift-down"}`,
        title: t(up ? "groups.rates_higher" : "groups.rates_lower", { group: isolated(g.name), p }),
        text: t(up ? "groups.higher" : "groups.lower"),
      });
    }
    const group = isolated(g.name);
    let label =
      raw.placed === false
        ? t("groups.cell_unplaced", { group })
        : i.low !== null
          ? t("groups.cell_interval", { group, rank, score: fmt2.format(i.score), level, low: fmt2.format(i.low), high: fmt2.format(i.high) })
          : t("groups.cell", { group, rank });
    if (badge && raw.placed !== false) label = t(shift.direction === "higher" ? "groups.credibly_higher" : "groups.credibly_lower", { text: label });
    return h(
      "td",
      {
        class: cls.join(" "),
        "data-group": g.name,
        "data-rank": raw.placed === false ? null : i.rank,
        "data-shift": shift && shift.credible ? shift.direction : null,
      },
      h("span", { class: "db-group-rank", "aria-hidden": "true", text: rank }),
      badge,
      plot,
      h("span", { class: "db-visually-hidden", text: label }),
    );
  }

  async function loadGroups() {
    const res = await api("GET", surveyPath("/results/groups"));
    const groups = Object.entries((res && res.groups) || {});
    const head = $("db-groups-head");
    const body = $("db-groups-body");
    $("db-groups-empty").hidden = groups.length > 0;
    if (groups.length === 0) {
      head.replaceChildren();
      body.replaceChildren();
      return;
    }
    const overall = ((state.results && state.results.ideas) || []).map(normIdea);
    overall.sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    const perGroup = groups.map(([name, r]) => ({
      name,
      n: r.n_votes ?? 0,
      need: r.votes_to_rank ?? null,
      level: num(r.level) ?? 0.95,
      // responses from before group statuses existed: a group with ideas is ranked
      status: r.status || ((r.ideas || []).length ? "ranked" : "no_votes"),
      raw: new Map((r.ideas || []).map((i) => [i.idea ?? i.id, i])),
      shifts: new Map((r.vs_overall || []).map((s) => [s.idea, s])),
    }));
    // One scale for every group's intervals, so bars compare across columns.
    const ranked = perGroup.filter((g) => g.status === "ranked");
    const ends = ranked.flatMap((g) => [...g.raw.values()].flatMap((i) => [num(i.low), num(i.high)])).filter((v) => v !== null);
    let lo = Math.min(...ends, 0);
    let hi = Math.max(...ends, 0);
    if (!(hi > lo)) [lo, hi] = [-1, 1];
    const x = (v) => `${(100 * (Math.min(hi, Math.max(lo, v)) - lo)) / (hi - lo)}%`;
    // Credible differences between two groups (the API lists them per idea).
    const differ = new Map();
    for (const d of (res && res.disagreements) || []) {
      if (!differ.has(d.idea)) differ.set(d.idea, []);
      differ.get(d.idea).push(d);
    }
    head.replaceChildren(
      h(
        "tr",
        null,
        h("th", { scope: "col", text: t("groups.idea") }),
        h("th", { scope: "col", class: "db-num", text: t("groups.everyone") }),
        ...perGroup.map((g) =>
          h(
            "th",
            { scope: "col", class: "db-num", "data-status": g.status },
            said(g.name, ""),
            " ",
            h("span", { class: "db-sub", text: t("groups.votes", { n: g.n }) }),
          ),
        ),
      ),
    );
    const ideaList = overall.length ? overall : ranked.length ? [...ranked[0].raw.values()].map(normIdea) : [];
    const rankOf = (i) => (i ? (i.rankLo === i.rankHi ? L.number(i.rank) : t("groups.rank_range", { rank: i.rank, lo: i.rankLo, hi: i.rankHi })) : "–");
    const rows = ideaList.map((idea, row) => {
      const diffs = differ.get(idea.id) || [];
      const involved = new Set(diffs.flatMap((d) => [d.higher, d.lower]));
      const title = diffs
        .map((d) => t("groups.differ", { higher: isolated(d.higher), lower: isolated(d.lower), p: L.percent(Math.round(100 * d.p_higher) / 100) }))
        .join("; ");
      const cells = [];
      perGroup.forEach((g) => {
        if (g.status === "ranked") cells.push(groupCell(g, idea, x, involved.has(g.name)));
        else if (row === 0)
          cells.push(
            h("td", { class: "db-group-note", rowspan: String(ideaList.length), "data-group": g.name, "data-status": g.status }, h("span", { text: groupNote(g) })),
          );
      });
      return h(
        "tr",
        { "data-idea": idea.id, "data-disagree": diffs.length > 0 ? "true" : "false" },
        h(
          "th",
          { scope: "row" },
          said(idea.text),
          diffs.length > 0 ? h("span", { class: "db-disagree", title, text: t("groups.disagree") }) : null,
        ),
        h("td", { class: "db-num", text: rankOf(idea) }),
        ...cells,
      );
    });
    body.replaceChildren(...rows);
  }

  /* ---------------------------------------------------------------- ideas and moderation */

  async function loadIdeas() {
    const res = await api("GET", surveyPath("/ideas"));
    state.ideas = (res && res.ideas) || [];
    renderIdeas();
  }

  function ideaText(id) {
    const found = state.ideas.find((i) => String(i.id) === String(id));
    return found ? found.text : t("ideas.idea_n", { id });
  }

  /** "similar to #12: <its text>" for an idea that nearly repeats an earlier one. */
  function similarNote(idea) {
    if (idea.similar_to === null || idea.similar_to === undefined) return null;
    const other = state.ideas.find((i) => String(i.id) === String(idea.similar_to));
    return h(
      "span",
      { class: "db-similar", "data-similar-to": idea.similar_to },
      other && other.status !== "active"
        ? t("ideas.similar_status", { id: idea.similar_to, status: statusWord(other.status) })
        : t("ideas.similar", { id: idea.similar_to }),
      said(ideaText(idea.similar_to)),
    );
  }

  async function setIdeaStatus(idea, status, button) {
    button.disabled = true;
    try {
      await api("PATCH", surveyPath(`/ideas/${encodeURIComponent(idea.id)}`), { json: { status } });
      note("db-ideas-note", t("ideas.now", { idea: isolated(plain(idea.text).slice(0, 60)), status: statusWord(status) }));
      await Promise.allSettled([loadIdeas(), loadResults()]);
    } catch (err) {
      note("db-ideas-note", err.message, "error");
      button.disabled = false;
    }
  }

  function renderIdeas() {
    const pending = state.ideas.filter((i) => i.status === "pending");
    $("db-n-pending").textContent = fmtInt.format(pending.length);
    const badge = $("db-pending-badge");
    badge.textContent = String(pending.length);
    badge.hidden = pending.length === 0;
    $("db-pending-empty").hidden = pending.length > 0;
    $("db-pending").replaceChildren(
      ...pending.map((idea) => {
        const li = h("li", { "data-idea": idea.id, "data-status": "pending" }, said(idea.text), similarNote(idea));
        const approve = h("button", { class: "db-btn db-btn-small db-btn-primary", type: "button", text: t("ideas.approve") });
        const reject = h("button", { class: "db-btn db-btn-small db-btn-danger", type: "button", text: t("ideas.reject") });
        approve.setAttribute("aria-label", t("ideas.approve_label", { idea: plain(idea.text) }));
        reject.setAttribute("aria-label", t("ideas.reject_label", { idea: plain(idea.text) }));
        approve.addEventListener("click", () => setIdeaStatus(idea, "active", approve));
        reject.addEventListener("click", () => setIdeaStatus(idea, "rejected", reject));
        li.append(h("time", { class: "db-sub", text: when(idea.created_at ?? idea.created) }), h("span", { class: "db-actions" }, approve, reject));
        return li;
      }),
    );
    const others = state.ideas.filter((i) => i.status !== "pending");
    // an idea being edited keeps its form: a vote arriving (new counts) must not throw the
    // organiser's half-typed edit away
    const editing = $("db-ideas").querySelector(".db-edit-idea");
    const open = editing ? editing.closest("li") : null;
    $("db-ideas").replaceChildren(
      ...others.map((idea) => {
        if (open && open.dataset.idea === String(idea.id)) return open;
        const li = h(
          "li",
          { "data-idea": idea.id, "data-status": idea.status },
          said(idea.text),
          h("span", { class: "db-idea-status", text: `${statusWord(idea.status)}${idea.author === "participant" ? t("ideas.by_participant") : ""}${ideaCounts(idea)}${translatedInto(idea)}` }),
          similarNote(idea),
        );
        const active = idea.status === "active";
        const btn = h("button", { class: "db-btn db-btn-small", type: "button", text: t(active ? "ideas.retire" : "ideas.reactivate") });
        btn.setAttribute("aria-label", t(active ? "ideas.retire_label" : "ideas.reactivate_label", { idea: plain(idea.text) }));
        btn.addEventListener("click", () => setIdeaStatus(idea, active ? "retired" : "active", btn));
        const edit = h("button", { class: "db-btn db-btn-small", type: "button", text: t("ideas.edit") });
        edit.setAttribute("aria-label", t("ideas.edit_label", { idea: plain(idea.text) }));
        edit.addEventListener("click", () => editIdea(li, idea));
        li.append(h("span", { class: "db-actions" }, edit, btn));
        return li;
      }),
    );
  }

  /** " · in cy, ar": the languages the organiser translated the idea into. */
  function translatedInto(idea) {
    const tags = Object.keys(idea.translations || {});
    return tags.length ? t("ideas.in_languages", { tags: L.list(tags) }) : "";
  }

  /** " · 12 votes · shown 20 times" from the latest results (active ideas only). */
  function ideaCounts(idea) {
    const r = ((state.results && state.results.ideas) || []).find((x) => String(x.id ?? x.idea) === String(idea.id));
    if (!r) return "";
    const votes = (r.wins ?? 0) + (r.losses ?? 0) + (r.ties ?? 0);
    const shown = (r.shown_left ?? 0) + (r.shown_right ?? 0);
    return t("ideas.counts", { n: votes, shown });
  }

  /** Edit an idea's text and its translations in place (its votes are kept): one field per
   * language the survey or the idea has, and one for a new language. */
  function editIdea(li, idea) {
    const input = h("input", { class: "db-input", maxlength: "280", value: idea.text, dir: "auto", "aria-label": t("ideas.text_label") });
    const save = h("button", { class: "db-btn db-btn-small db-btn-primary", type: "submit", text: t("ideas.save") });
    const cancel = h("button", { class: "db-btn db-btn-small", type: "button", text: t("ideas.cancel") });
    const own = idea.translations || {};
    const survey = state.survey || {};
    const tags = [...new Set([...Object.keys(survey.translations || {}), ...Object.keys(own)])].filter((t) => t !== survey.language);
    const rows = tags.map((tag) => {
      const field = h("input", { class: "db-input", maxlength: "280", value: own[tag] || "", dir: "auto", "data-tag": tag });
      field.setAttribute("aria-label", t("ideas.in_language", { language: languageName(tag), tag }));
      return h("label", { class: "db-translation" }, h("span", { text: tag }), field);
    });
    const newTag = h("input", { class: "db-input", spellcheck: "false", placeholder: "cy", translate: "no", "aria-label": t("ideas.other_tag") });
    const newText = h("input", { class: "db-input", maxlength: "280", dir: "auto", "aria-label": t("ideas.other_text") });
    const translations = "translations" in idea ? h("div", { class: "db-translations" }, ...rows, h("div", { class: "db-translation" }, newTag, newText)) : null;
    const form = h("form", { class: "db-inline-form db-edit-idea", novalidate: true }, input, save, cancel, translations);
    li.replaceChildren(form);
    input.focus();
    cancel.addEventListener("click", () => {
      form.remove();
      renderIdeas();
      const again = $("db-ideas").querySelector(`[data-idea="${CSS.escape(String(idea.id))}"] button`);
      if (again) again.focus();
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      const changes = {};
      if (text && text !== idea.text) changes.text = text;
      if (translations) {
        const tr = {};
        for (const f of translations.querySelectorAll("input[data-tag]")) if (f.value.trim()) tr[f.dataset.tag] = f.value.trim();
        if (newTag.value.trim() && newText.value.trim()) tr[newTag.value.trim()] = newText.value.trim();
        if (JSON.stringify(tr) !== JSON.stringify(own)) changes.translations = tr;
      }
      if (!Object.keys(changes).length) return cancel.click();
      save.disabled = true;
      try {
        await api("PATCH", surveyPath(`/ideas/${encodeURIComponent(idea.id)}`), { json: changes });
        form.remove();
        note(
          "db-ideas-note",
          changes.text
            ? t("ideas.changed", { idea: isolated(plain(text).slice(0, 60)) })
            : t("ideas.translated", { idea: isolated(plain(idea.text).slice(0, 60)) }),
        );
        await Promise.allSettled([loadIdeas(), loadResults()]);
      } catch (err) {
        note("db-ideas-note", err.code === "duplicate_idea" ? t("ideas.duplicate") : err.message, "error");
        save.disabled = false;
      }
    });
  }

  async function addIdea(event) {
    event.preventDefault();
    const input = $("db-add-idea-text");
    const text = input.value.trim();
    if (!text) return note("db-ideas-note", t("ideas.write_first"), "error");
    try {
      await api("POST", surveyPath("/ideas"), { json: { text } });
      input.value = "";
      note("db-ideas-note", t("ideas.added"));
      await Promise.allSettled([loadIdeas(), loadResults()]);
    } catch (err) {
      note("db-ideas-note", err.message, "error");
    }
  }

  async function importCsv() {
    const input = $("db-import");
    const file = input.files && input.files[0];
    if (!file) return;
    try {
      const text = await file.text();
      const res = await api("POST", surveyPath("/ideas/import"), { body: text, contentType: "text/csv" });
      note("db-ideas-note", t("ideas.imported", { n: res.added }));
      await Promise.allSettled([loadIdeas(), loadResults()]);
    } catch (err) {
      note("db-ideas-note", err.message, "error");
    } finally {
      input.value = "";
    }
  }

  /* ---------------------------------------------------------------- comments and flags */

  async function loadComments() {
    const res = await api("GET", surveyPath("/comments"));
    const byIdea = new Map();
    const entry = (id) => {
      const key = String(id);
      if (!byIdea.has(key)) byIdea.set(key, { id, comments: [], flags: 0, reasons: [] });
      return byIdea.get(key);
    };
    for (const c of (res && res.comments) || []) entry(c.idea_id ?? c.idea).comments.push(c);
    for (const f of (res && res.flags) || []) {
      const e = entry(f.idea_id ?? f.idea);
      e.flags += f.count ?? 1;
      e.reasons.push(...(f.reasons || (f.reason ? [f.reason] : [])).filter(Boolean));
    }
    const groups = [...byIdea.values()].sort((a, b) => b.flags - a.flags || b.comments.length - a.comments.length);
    $("db-comments-empty").hidden = groups.length > 0;
    $("db-comments").replaceChildren(
      ...groups.map((g) =>
        h(
          "article",
          { class: "db-comment-group", "data-idea": g.id },
          h(
            "h3",
            null,
            said(ideaText(g.id), ""),
            g.flags ? h("span", { class: "db-flags", text: t("comments.flags", { n: g.flags }) }) : null,
          ),
          g.reasons.length ? h("p", { class: "db-muted", text: t("comments.reasons", { reasons: g.reasons.map(isolated).join("; ") }) }) : null,
          g.comments.length
            ? h(
                "ul",
                null,
                ...g.comments.map((c) => h("li", null, said(c.text, "db-comment-text"), " ", h("time", { text: when(c.created_at ?? c.created) }))),
              )
            : h("p", { class: "db-muted", text: t("comments.none") }),
        ),
      ),
    );
  }

  /* ---------------------------------------------------------------- suspicious voters */

  const REASONS = ["against_crowd", "side_bias", "fast", "burst", "shared_client"];
  const reasonWord = (r) => (REASONS.includes(r) ? t(`voters.reason.${r}`) : r);
  const fmtPct = new Intl.NumberFormat(L.lang, { style: "percent", maximumFractionDigits: 0 });
  const fmt1 = new Intl.NumberFormat(L.lang, { maximumFractionDigits: 1 });
  /** "1,300 times", "more than a million times" for a likelihood ratio. */
  const times = (ratio) => (ratio >= 1e6 ? t("voters.million_times") : t("voters.times", { n: Math.round(ratio) }));
  const sds = (z) => t("voters.sds", { n: Math.round(Math.abs(z) * 10) / 10 });

  /** The evidence for one flagged voter, in words: one sentence per signal. */
  function voterEvidence(v) {
    const why = new Set(v.reasons || []);
    const out = [];
    if (why.has("against_crowd")) {
      const lr = num(v.agreement_log_lr) ?? 0;
      const fit = lr < 0 ? t("voters.coin_better", { times: times(Math.exp(-lr)) }) : t("voters.crowd_better", { times: times(Math.exp(lr)) });
      out.push(t("voters.against_crowd", { fit, sds: sds(v.agreement_z) }));
    }
    if (why.has("side_bias")) {
      out.push(t("voters.side_bias", { share: fmtPct.format(v.left_share) }));
    }
    if (why.has("fast")) out.push(t("voters.fast", { share: fmtPct.format(v.fast_share) }));
    if (why.has("burst")) {
      const span = v.fastest_10_answers_s < 0.1 ? t("voters.burst_tiny") : fmt1.format(v.fastest_10_answers_s);
      out.push(t("voters.burst", { seconds: span }));
    }
    if (why.has("shared_client")) {
      out.push(t("voters.shared_client", { n: v.client_voters, sds: sds(v.client_agreement_z ?? 0) }));
    } else if (v.client_voters > 1) {
      const others = v.client_voters - 1;
      out.push(t("voters.shares_address", { n: others }));
    }
    return out;
  }

  async function loadVoters() {
    const res = await api("GET", surveyPath("/voters/flagged"));
    const voters = (res && res.voters) || [];
    const badge = $("db-flagged-badge");
    badge.textContent = String(voters.length);
    badge.hidden = voters.length === 0;
    badge.setAttribute("aria-label", t("voters.flagged_badge", { n: voters.length }));
    $("db-voters-empty").hidden = voters.length > 0;
    $("db-voters-mode").textContent = t(state.survey.down_weight_flagged ? "voters.mode_on" : "voters.mode_off");
    state.flagged = voters;
    $("db-voters-bulk").hidden = voters.length === 0;
    const all = $("db-void-all");
    all.textContent = t("voters.void_all", { n: voters.length });
    all.disabled = state.voidingAll;
    $("db-voters").replaceChildren(
      ...voters.map((v) => {
        const button = h("button", { class: "db-btn db-btn-small db-btn-danger", type: "button", text: t("voters.void") });
        button.setAttribute("aria-label", t("voters.void_label", { voter: v.voter }));
        button.addEventListener("click", () => voidFlagged(v, button));
        button.disabled = state.voidingAll;
        return h(
          "article",
          { class: "db-voter", "data-voter": v.voter },
          h(
            "h3",
            null,
            h("span", null, ...L.parts("voters.voter", { voter: h("code", { text: v.voter }) })),
            ...v.reasons.map((r) => h("span", { class: "db-flags", text: reasonWord(r) })),
          ),
          h("p", { class: "db-muted", text: `${t("voters.answers", { n: v.answers })}${v.group ? t("voters.group", { group: isolated(v.group) }) : ""}` }),
          h("ul", { class: "db-evidence" }, ...voterEvidence(v).map((t) => h("li", { text: t }))),
          button,
        );
      }),
    );
  }

  async function voidFlagged(v, button) {
    if (!window.confirm(t("voters.confirm", { voter: v.voter, n: v.answers }))) return;
    button.disabled = true;
    try {
      const res = await api("POST", surveyPath(`/voters/${encodeURIComponent(v.voter)}/void`), { json: { reason: (v.reasons || []).join(", ") } });
      note("db-voters-note", t("voters.voided", { voter: v.voter, n: res.voided }));
      await Promise.allSettled([loadVoters(), loadResults()]);
    } catch (e) {
      button.disabled = false;
      note("db-voters-note", e.message, "error");
    }
  }

  /** Void every voter listed when the organiser confirms, one request after another (the
   * same route as "Void this voter"), with progress and then a summary in the note. */
  async function voidAllFlagged() {
    const voters = state.flagged.slice();
    const survey = surveyPath(); // the survey on screen when the organiser confirmed
    if (!voters.length || state.voidingAll) return;
    if (!window.confirm(t("voters.void_all_confirm", { n: voters.length }))) return;
    state.voidingAll = true;
    const list = $("db-voters");
    $("db-void-all").disabled = true;
    list.setAttribute("aria-busy", "true");
    for (const b of list.querySelectorAll("button")) b.disabled = true;
    let voided = 0;
    let answers = 0;
    const failed = [];
    for (const [i, v] of voters.entries()) {
      note("db-voters-note", t("voters.voiding", { i: i + 1, n: voters.length }));
      try {
        const res = await api("POST", `${survey}/voters/${encodeURIComponent(v.voter)}/void`, { json: { reason: (v.reasons || []).join(", ") } });
        voided += 1;
        answers += res.voided;
        for (const card of list.querySelectorAll("article[data-voter]")) {
          if (card.dataset.voter === v.voter) card.remove();
        }
      } catch (e) {
        if (e.status === 401) break; // signed out: nothing more can be voided
        failed.push(t("voters.void_error", { voter: isolated(v.voter), error: isolated(e.message) }));
      }
    }
    state.voidingAll = false;
    list.removeAttribute("aria-busy");
    if (!state.key) return;
    await Promise.allSettled([loadVoters(), loadResults()]);
    const summary = [t("voters.voided_all", { n: voided, answers: t("voters.answers_voided", { n: answers }) })];
    if (failed.length) summary.push(t("voters.void_all_failed", { n: failed.length, errors: failed.join("; ") }));
    note("db-voters-note", summary.join(" "), failed.length ? "error" : undefined);
    // The button is gone once the list is empty: the summary takes the focus, not the page.
    ($("db-voters-bulk").hidden ? $("db-voters-note") : $("db-void-all")).focus();
  }

  /* ---------------------------------------------------------------- activity */

  async function loadActivity() {
    const res = await api("GET", surveyPath("/exports/votes?format=ndjson"), { raw: true, accept: "application/x-ndjson" });
    const text = await res.text();
    const times = [];
    for (const line of text.split("\n")) {
      if (!line.trim()) continue;
      try {
        const row = JSON.parse(line);
        const t = seconds(row.ts);
        if (t !== null) times.push(t);
      } catch (_) {
        /* skip a malformed line */
      }
    }
    renderActivity(times);
  }

  /** This browser's time zone, e.g. "Europe/London (UTC+01:00)": the chart's times are local. */
  function zoneLabel() {
    const off = -new Date().getTimezoneOffset();
    const hhmm = `${String(Math.floor(Math.abs(off) / 60)).padStart(2, "0")}:${String(Math.abs(off) % 60).padStart(2, "0")}`;
    const utc = `UTC${off < 0 ? "−" : "+"}${hhmm}`;
    let name = "";
    try {
      name = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (_) {
      name = "";
    }
    return name && name !== "UTC" ? `${name} (${utc})` : utc;
  }

  function renderActivity(times) {
    const fig = $("db-chart");
    for (const old of fig.querySelectorAll("svg, .db-empty")) old.remove();
    const tbody = $("db-activity-table").tBodies[0];
    tbody.replaceChildren();
    if (times.length === 0) {
      $("db-activity-summary").textContent = t("activity.no_votes");
      fig.append(h("p", { class: "db-empty", text: t("activity.empty") }));
      return;
    }
    times.sort((a, b) => a - b);
    const first = times[0];
    const last = times[times.length - 1];
    const span = Math.max(1, last - first);
    const steps = [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 86400, 7 * 86400];
    const step = steps.find((s) => span / s <= 48) || 30 * 86400;
    const start = Math.floor(first / step) * step;
    const n = Math.floor((last - start) / step) + 1;
    const counts = new Array(n).fill(0);
    for (const t of times) counts[Math.floor((t - start) / step)] += 1;
    const max = Math.max(...counts);
    const unit =
      step < 3600
        ? t("activity.unit.minutes", { n: step / 60 })
        : step < 86400
          ? t("activity.unit.hours", { n: step / 3600 })
          : t(step === 86400 ? "activity.unit.day" : "activity.unit.week");
    const zone = zoneLabel();
    $("db-activity-summary").textContent = t("activity.summary", { n: times.length, first: when(first), last: when(last), unit, zone });
    const fromCell = $("db-activity-table").tHead.rows[0].cells[0];
    fromCell.removeAttribute("data-i18n");
    fromCell.textContent = t("activity.from_zone", { zone });

    const W = 760;
    const H = 220;
    const m = { l: 40, r: 10, t: 10, b: 28 };
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", t("activity.chart", { unit, n: max }));
    const line = (x1, y1, x2, y2, cls) => {
      const l = document.createElementNS(NS, "line");
      for (const [k, v] of Object.entries({ x1, y1, x2, y2 })) l.setAttribute(k, String(v));
      l.setAttribute("class", cls);
      return l;
    };
    const label = (x, y, s, anchor) => {
      const t = document.createElementNS(NS, "text");
      t.setAttribute("x", String(x));
      t.setAttribute("y", String(y));
      t.setAttribute("text-anchor", anchor);
      t.textContent = s;
      return t;
    };
    const iw = W - m.l - m.r;
    const ih = H - m.t - m.b;
    for (const tick of niceTicks(0, max, 4)) {
      const y = m.t + ih - (ih * tick) / max;
      svg.append(line(m.l, y, W - m.r, y, "db-chart-grid"), label(m.l - 6, y + 4, L.number(tick), "end"));
    }
    const bw = iw / n;
    counts.forEach((c, i) => {
      const r = document.createElementNS(NS, "rect");
      const bh = (ih * c) / max;
      r.setAttribute("x", String(m.l + i * bw + Math.min(2, bw * 0.1)));
      r.setAttribute("y", String(m.t + ih - bh));
      r.setAttribute("width", String(Math.max(1, bw - 2 * Math.min(2, bw * 0.1))));
      r.setAttribute("height", String(bh));
      r.setAttribute("rx", "2");
      r.setAttribute("class", "db-chart-bar");
      const title = document.createElementNS(NS, "title");
      title.textContent = t("activity.bar", { time: when(start + i * step), n: c });
      r.append(title);
      svg.append(r);
      tbody.append(h("tr", null, h("td", null, h("time", { text: when(start + i * step) })), h("td", { class: "db-num", text: L.number(c) })));
    });
    const fmtTick = (t) =>
      L.date(new Date(t * 1000), step >= 86400 ? { dateStyle: "short" } : { hour: "2-digit", minute: "2-digit" });
    const every = Math.max(1, Math.ceil(n / 6));
    for (let i = 0; i < n; i += every) svg.append(label(m.l + i * bw + bw / 2, H - 8, fmtTick(start + i * step), "middle"));
    svg.append(line(m.l, m.t + ih, W - m.r, m.t + ih, "db-chart-grid"));
    fig.append(svg);
  }

  /* ---------------------------------------------------------------- embed and exports */

  function renderShare() {
    const s = state.survey;
    const base = location.origin;
    const sid = encodeURIComponent(s.id);
    $("db-embed-script").value = `<script src="${base}/embed.js" data-survey="${s.id}" async></script>`;
    $("db-embed-iframe").value =
      `<iframe src="${base}/w/${sid}" title="${t("share.iframe_title").replace(/[&"<>]/g, "")}" width="100%" height="460" style="border:0"></iframe>`;
    $("db-widget-link").href = `${base}/w/${sid}`;
    checkEmbedSite();
    const box = $("db-exports");
    const items = [
      h(
        "div",
        { class: "db-export" },
        h("strong", { text: t("share.results") }),
        exportButton("CSV", surveyPath("/results.csv"), `${s.id}-results.csv`),
      ),
    ];
    for (const kind of EXPORTS) {
      const label = t(`share.${kind}`);
      items.push(
        h(
          "div",
          { class: "db-export" },
          h("strong", { text: label }),
          exportButton("CSV", surveyPath(`/exports/${kind}?format=csv`), `${s.id}-${kind}.csv`),
          exportButton("NDJSON", surveyPath(`/exports/${kind}?format=ndjson`), `${s.id}-${kind}.ndjson`),
        ),
      );
    }
    box.replaceChildren(...items);
  }

  function exportButton(label, path, filename) {
    const b = h("button", { class: "db-btn db-btn-small", type: "button", text: label, translate: "no" }); // a format's name
    b.setAttribute("aria-label", t("share.download", { file: filename }));
    b.addEventListener("click", async () => {
      b.disabled = true;
      try {
        const res = await api("GET", path, { raw: true, accept: "*/*" });
        const blob = await res.blob();
        const url = URL.createObjectURL(blob);
        const a = h("a", { href: url, download: filename });
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      } catch (err) {
        banner(t("share.export_failed", { detail: err.message }));
      } finally {
        b.disabled = false;
      }
    });
    return b;
  }

  /* ---------------------------------------------------------------- which site may embed */

  function embedOrigins() {
    const s = state.survey;
    return (s.embed_origins || s.allowed_origins || []).slice();
  }

  /** The origin of the page address typed on the Share tab: null if none, "" if not a web address. */
  function pageOrigin() {
    const raw = $("db-embed-page").value.trim();
    if (!raw) return null;
    try {
      const u = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `https://${raw}`);
      return /^https?:\/\/([a-z0-9.-]+|\[[0-9a-f:.]+\])(:\d+)?$/i.test(u.origin) ? u.origin : "";
    } catch (_) {
      return "";
    }
  }

  /** Say whether the page typed in may show the widget, and which origin to add if not. */
  function checkEmbedSite() {
    const origin = pageOrigin();
    const allowed = embedOrigins();
    let text;
    if (origin === null) {
      text = allowed.length ? t("share.allowed_now", { origins: allowed.join(", ") }) : t("share.none_allowed");
    } else if (origin === "") {
      text = t("share.not_address");
    } else if (allowed.includes(origin)) {
      text = t("share.is_allowed", { origin });
    } else {
      text = t("share.not_allowed", { origin });
    }
    $("db-embed-allow").disabled = !origin || allowed.includes(origin);
    note("db-embed-site-note", text);
  }

  async function allowEmbedSite(event) {
    event.preventDefault();
    const origin = pageOrigin();
    if (!origin || embedOrigins().includes(origin)) return checkEmbedSite();
    const key = "embed_origins" in state.survey ? "embed_origins" : "allowed_origins";
    try {
      state.survey = await api("PATCH", surveyPath(), { json: { [key]: [...embedOrigins(), origin] } });
      renderSurvey();
      note("db-embed-site-note", t("share.allowed", { origin }));
    } catch (e) {
      note("db-embed-site-note", t("share.allow_failed", { origin, detail: e.message }), "error");
    }
  }

  /* ---------------------------------------------------------------- settings */

  async function saveSettings(event) {
    event.preventDefault();
    const err = $("db-settings-error");
    err.hidden = true;
    note("db-settings-note", "");
    const origins = $("set-origins")
      .value.split(/[\s,]+/)
      .map((o) => o.trim().replace(/\/+$/, ""))
      .filter(Boolean);
    const bad = origins.filter((o) => !/^https?:\/\/[^/\s]+$/.test(o));
    if (bad.length) {
      err.textContent = t("settings.bad_origin", { origins: bad.join(", ") });
      err.hidden = false;
      $("set-origins").focus();
      return;
    }
    const s = state.survey;
    const patch = {
      question: $("set-question").value.trim(),
      description: $("set-description").value.trim(),
      model: $("set-model").value,
      sampler: $("set-sampler").value,
      top_k: Math.max(1, Math.round(Number($("set-top-k").value) || 10)),
      margin: Number($("set-margin").value),
      allow_ideas: $("set-allow-ideas").checked,
      moderate_ideas: $("set-moderate").checked,
      groups: $("set-groups")
        .value.split(",")
        .map((g) => g.trim())
        .filter(Boolean),
    };
    // Field names follow the survey object the server sent (docs/api.md names or the core's).
    patch["embed_origins" in s ? "embed_origins" : "allowed_origins"] = origins;
    patch["show_results_to_voters" in s ? "show_results_to_voters" : "show_results"] = $("set-show-results").checked;
    if ("down_weight_flagged" in s) patch.down_weight_flagged = $("set-down-weight").checked;
    if ("verify_voters" in s) patch.verify_voters = $("set-verify").checked;
    if ("translations" in s) {
      patch.language = $("set-language").value.trim();
      patch.translations = formTranslations();
    }
    if ("theme" in s) {
      patch.theme = Object.assign({}, s.theme || {}, { accent: $("set-accent").value, theme: $("set-theme").value });
    }
    try {
      state.survey = await api("PATCH", surveyPath(), { json: patch });
      renderSurvey();
      const idx = state.surveys.findIndex((s) => s.id === state.survey.id);
      if (idx >= 0) state.surveys[idx] = state.survey;
      renderSurveyPicker();
      note("db-settings-note", t("settings.saved"));
    } catch (e) {
      const detail = e.errors && e.errors.length ? e.errors.map((x) => `${x.field}: ${x.message}`).join("; ") : e.message;
      err.textContent = t("settings.save_failed", { detail });
      err.hidden = false;
    }
  }

  async function setOpen(open) {
    try {
      state.survey = await api("POST", surveyPath(open ? "/open" : "/close"));
      renderSurvey();
      note("db-settings-note", t(open ? "settings.opened" : "settings.closed"));
    } catch (e) {
      const err = $("db-settings-error");
      err.textContent = e.code === "not_enough_ideas" ? t("settings.two_ideas") : e.message;
      err.hidden = false;
    }
  }

  async function voidVoter(event) {
    event.preventDefault();
    const id = $("db-void-id").value.trim();
    if (!id) return note("db-void-note", t("void.enter_id"), "error");
    if (!window.confirm(t("void.confirm", { voter: id }))) return;
    try {
      const res = await api("POST", surveyPath(`/voters/${encodeURIComponent(id)}/void`), { json: {} });
      note("db-void-note", t("void.done", { n: res.voided, voter: id }));
      $("db-void-id").value = "";
      await loadResults();
    } catch (e) {
      note("db-void-note", e.code === "voter_not_found" ? t("void.not_found") : e.message, "error");
    }
  }

  async function createSurvey(event) {
    event.preventDefault();
    const err = $("db-new-error");
    err.hidden = true;
    const question = $("new-question").value.trim();
    const ideas = $("new-ideas")
      .value.split("\n")
      .map((l) => l.trim())
      .filter(Boolean);
    if (!question) {
      err.textContent = t("new.write_question");
      err.hidden = false;
      return;
    }
    try {
      const s = await api("POST", "/v1/surveys", { json: { question, ideas } });
      $("db-new-dialog").close();
      $("new-question").value = "";
      $("new-ideas").value = "";
      state.surveys.unshift(s);
      renderSurveyPicker();
      banner("");
      await selectSurvey(s.id);
      selectTab("settings");
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  }

  /* ---------------------------------------------------------------- tabs */

  const TABS = ["ranking", "groups", "ideas", "comments", "voters", "activity", "share", "settings"];

  function selectTab(name, focus) {
    state.tab = name;
    for (const t of TABS) {
      const tab = $(`tab-${t}`);
      const on = t === name;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
      $(`panel-${t}`).hidden = !on;
      if (on && focus) tab.focus();
    }
    refreshTab();
  }

  function refreshTab() {
    if (!state.survey) return;
    const loaders = { groups: loadGroups, comments: loadComments, voters: loadVoters, activity: loadActivity, ideas: loadIdeas };
    const load = loaders[state.tab];
    if (load) load().catch((e) => banner(e.message));
  }

  $("db-tabs").addEventListener("click", (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (tab) selectTab(tab.id.slice(4));
  });
  $("db-tabs").addEventListener("keydown", (e) => {
    const i = TABS.indexOf(state.tab);
    let j = null;
    const next = L.dir === "rtl" ? "ArrowLeft" : "ArrowRight";
    const prev = L.dir === "rtl" ? "ArrowRight" : "ArrowLeft";
    if (e.key === next) j = (i + 1) % TABS.length;
    else if (e.key === prev) j = (i - 1 + TABS.length) % TABS.length;
    else if (e.key === "Home") j = 0;
    else if (e.key === "End") j = TABS.length - 1;
    if (j !== null) {
      e.preventDefault();
      selectTab(TABS[j], true);
    }
  });

  /* ---------------------------------------------------------------- live updates (SSE) */

  function setLive(mode) {
    const live = $("db-live");
    live.dataset.state = mode;
    live.removeAttribute("data-i18n");
    live.textContent = t(mode === "on" ? "live.on" : mode === "retry" ? "live.retry" : "live.off");
  }

  function stopStream() {
    if (state.stream) state.stream.close();
    state.stream = null;
    clearTimeout(state.streamTimer);
    setLive("off");
  }

  async function startStream() {
    stopStream();
    if (!state.survey || typeof EventSource === "undefined") return;
    const surveyId = state.survey.id;
    let ticket;
    try {
      ticket = await api("POST", surveyPath("/stream-tickets"));
    } catch (_) {
      return scheduleReconnect(surveyId);
    }
    if (!state.survey || state.survey.id !== surveyId) return;
    const url = `${surveyPath("/stream")}?ticket=${encodeURIComponent(ticket.ticket)}`;
    const es = new EventSource(url);
    state.stream = es;
    es.addEventListener("open", () => {
      state.streamRetry = 0;
      setLive("on");
    });
    es.addEventListener("results", (ev) => {
      setLive("on");
      try {
        renderResults(JSON.parse(ev.data));
      } catch (_) {
        return;
      }
      // Keep the moderation badge and the visible secondary tab in step, at most every 2 s.
      if (!state.refreshTimer) {
        state.refreshTimer = setTimeout(() => {
          state.refreshTimer = 0;
          if (state.tab !== "ideas") loadIdeas().catch(() => {});
          if (state.tab !== "ranking") refreshTab();
        }, 2000);
      }
    });
    es.addEventListener("error", () => {
      // The ticket is short-lived: on any error get a fresh one rather than let EventSource retry.
      if (state.stream === es) {
        es.close();
        state.stream = null;
        scheduleReconnect(surveyId);
      }
    });
  }

  function scheduleReconnect(surveyId) {
    setLive("retry");
    state.streamRetry = Math.min(state.streamRetry + 1, 6);
    const delay = 500 * 2 ** state.streamRetry;
    clearTimeout(state.streamTimer);
    state.streamTimer = setTimeout(() => {
      if (state.key && state.survey && state.survey.id === surveyId) startStream();
    }, delay);
  }

  /* ---------------------------------------------------------------- wiring */

  $("db-signin-form").addEventListener("submit", signIn);
  $("db-signout").addEventListener("click", () => signOut(t("signin.signed_out")));
  $("db-survey").addEventListener("change", (e) => selectSurvey(e.target.value).catch((err) => banner(err.message)));
  $("db-add-idea").addEventListener("submit", addIdea);
  $("db-import").addEventListener("change", importCsv);
  $("db-settings").addEventListener("submit", saveSettings);
  $("set-add-translation").addEventListener("click", () => {
    const row = translationRow();
    $("set-translations").append(row);
    row.querySelector("input").focus();
  });
  for (const id of ["set-model", "set-sampler"]) $(id).addEventListener("change", (e) => describeChoice(e.target));
  $("db-embed-site").addEventListener("submit", allowEmbedSite);
  $("db-embed-page").addEventListener("input", checkEmbedSite);
  $("db-void-all").addEventListener("click", voidAllFlagged);
  $("db-open").addEventListener("click", () => setOpen(true));
  $("db-close").addEventListener("click", () => setOpen(false));
  $("db-void").addEventListener("submit", voidVoter);
  $("db-new-survey").addEventListener("click", () => {
    $("db-new-error").hidden = true;
    $("db-new-dialog").showModal();
  });
  $("db-new-cancel").addEventListener("click", () => $("db-new-dialog").close());
  $("db-new-form").addEventListener("submit", createSurvey);
  for (const b of document.querySelectorAll("[data-copy]")) {
    b.addEventListener("click", async () => {
      const src = $(b.dataset.copy);
      src.select();
      try {
        await navigator.clipboard.writeText(src.value);
        b.textContent = t("share.copied");
      } catch (_) {
        b.textContent = t("share.press_copy");
      }
      setTimeout(() => {
        b.textContent = t("share.copy");
      }, 2000);
    });
  }
  window.addEventListener("hashchange", () => {
    const wanted = new URLSearchParams(location.hash.slice(1)).get("survey");
    if (wanted && state.key && (!state.survey || wanted !== state.survey.id)) selectSurvey(wanted).catch((e) => banner(e.message));
  });

  (async function init() {
    try {
      state.key = sessionStorage.getItem(KEY_STORAGE);
    } catch (_) {
      state.key = null;
    }
    if (!state.key) return showSignin();
    try {
      await boot(await api("GET", "/v1/surveys"));
    } catch (err) {
      if (err.status !== 401) showSignin(err.message);
    }
  })();
})();
