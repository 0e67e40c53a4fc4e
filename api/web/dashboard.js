/* ranker organiser dashboard (served at /dashboard). Plain ES2020, no build step, no CDN.
 *
 * Talks to the organiser API of docs/api.md with `Authorization: Bearer <key>`; the key is kept in
 * sessionStorage (this tab only). Live updates come from the survey's server-sent event stream,
 * opened with a short-lived ticket because EventSource cannot send headers. Every piece of survey
 * data (idea text, comments, group names) is inserted with textContent, never as HTML.
 */
(() => {
  "use strict";

  const KEY_STORAGE = "ranker:organiser-key";
  const MODELS = ["bt", "bt-online", "elo", "crowd-bt"];
  const SAMPLERS = ["settle", "adaptive", "info-gain", "uncertainty", "thompson", "topk", "balanced", "random"];
  const EXPORTS = [
    ["votes", "Votes"],
    ["skips", "Skips"],
    ["ideas", "Ideas"],
    ["comments", "Comments"],
  ];

  const $ = (id) => document.getElementById(id);
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

  const fmtInt = new Intl.NumberFormat();
  const fmt2 = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
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
    return new Date(ts * 1000).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
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
      throw new ApiError(0, { detail: "Could not reach the server." });
    }
    if (!res.ok) {
      let problem = null;
      try {
        problem = await res.json();
      } catch (_) {
        problem = null;
      }
      const err = new ApiError(res.status, problem);
      if (res.status === 401 && !opts.signin) signOut("Your session has ended. Please sign in again.");
      throw err;
    }
    if (opts.raw) return res;
    if (res.status === 204) return null;
    return res.json();
  }

  const surveyPath = (suffix = "") => `/v1/surveys/${encodeURIComponent(state.survey.id)}${suffix}`;

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
    if (!key) return showSignin("Enter your organiser key.");
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
      showSignin(err.status === 401 ? "That key was not accepted. Check it and try again." : err.message);
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
      $("db-question").textContent = "No surveys yet";
      banner("You have no surveys yet. Create one with “New survey”.");
      return;
    }
    await selectSurvey(pick.id);
  }

  function renderSurveyPicker() {
    const sel = $("db-survey");
    sel.replaceChildren(...state.surveys.map((s) => h("option", { value: s.id, text: s.question })));
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
    $("db-question").textContent = s.question;
    document.title = `${s.question} · ranker`;
    const status = $("db-status");
    status.textContent = s.status;
    status.dataset.status = s.status;
    $("db-open").disabled = s.status === "open";
    $("db-close").disabled = s.status !== "open";
    banner(s.status === "draft" ? "This survey is a draft: open it in Settings to start collecting votes." : "");
    // Settings form
    $("set-question").value = s.question || "";
    $("set-description").value = s.description || "";
    fillSelect($("set-model"), MODELS, s.model);
    fillSelect($("set-sampler"), SAMPLERS, s.sampler);
    $("set-top-k").value = String(s.top_k ?? 10);
    const margin = String(s.margin ?? 0.55);
    const sel = $("set-margin");
    if (![...sel.options].some((o) => o.value === margin)) sel.append(h("option", { value: margin }, `${Math.round(100 * s.margin)}/${100 - Math.round(100 * s.margin)}`));
    sel.value = margin;
    $("set-allow-ideas").checked = !!s.allow_ideas;
    $("set-moderate").checked = !!s.moderate_ideas;
    $("set-show-results").checked = !!(s.show_results ?? s.show_results_to_voters);
    $("set-down-weight-fields").hidden = !("down_weight_flagged" in s);
    $("set-down-weight").checked = !!s.down_weight_flagged;
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
    try {
      return new Intl.DisplayNames([document.documentElement.lang || "en"], { type: "language" }).of(tag) || tag;
    } catch (_) {
      return tag;
    }
  }

  /** One language of the survey's translations: tag, question, description, Remove. */
  function translationRow(tag = "", question = "", description = "") {
    const row = h("div", { class: "db-translation" });
    const tagInput = h("input", { class: "db-input", value: tag, spellcheck: "false", placeholder: "cy", "aria-label": "Language tag", "data-field": "tag" });
    const q = h("input", { class: "db-input", value: question, maxlength: "300", placeholder: "Question", dir: "auto", "data-field": "question" });
    const d = h("textarea", { class: "db-input db-translation-desc", rows: "2", maxlength: "5000", placeholder: "Description (optional)", dir: "auto", "data-field": "description" });
    d.value = description;
    const label = () => {
      const name = tagInput.value.trim() ? languageName(tagInput.value.trim()) : "the new language";
      q.setAttribute("aria-label", `Question in ${name}`);
      d.setAttribute("aria-label", `Description in ${name}`);
    };
    label();
    tagInput.addEventListener("input", label);
    const remove = h("button", { class: "db-btn db-btn-small", type: "button", text: "Remove" });
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
    const help = HELP[sel.id] || {};
    sel.replaceChildren(...all.map((o) => h("option", { value: o, text: help[o] ? `${o}: ${help[o][0]}` : o })));
    if (current) sel.value = current;
    describeChoice(sel);
  }

  /** What each rating model and pair sampler does, in a line (docs/models.md, docs/samplers.md). */
  const HELP = {
    "set-model": {
      bt: ["Bradley-Terry (recommended)", "The standard model for “which is better?” votes: scores with honest confidence intervals."],
      "bt-online": ["Bradley-Terry, vote by vote", "Bradley-Terry updated after each vote: cheaper for very large surveys, intervals a little less exact."],
      elo: ["Elo", "Ratings as in chess: simple and familiar, but they depend on the order of the votes and have no real intervals."],
      "crowd-bt": ["Bradley-Terry with voter reliability", "Learns how reliable each voter is: for open links where some people click carelessly or try to game the result."],
      "group-bt": ["Bradley-Terry per group", "A score for each participant group, kept close to everyone’s score until that group’s votes say otherwise."],
      "time-bt": ["Bradley-Terry over time", "Scores may drift over time: for surveys that run for months while opinions change."],
    },
    "set-sampler": {
      settle: ["settle the top k, and the rest (recommended)", "Like adaptive, plus 1 in 5 pairs on the border of the top k ideas until each idea there is known to be in, out or practically tied."],
      adaptive: ["most informative pairs", "Shows the pair that teaches the most, with some far-apart pairs to keep the intervals honest; new ideas are shown at once."],
      "info-gain": ["always the most informative pair", "Fast to a good order, but the intervals come out too narrow: for research."],
      "info-gain-exact": ["exact most informative pair", "A slow exact reference (at most 300 ideas): for research."],
      uncertainty: ["least certain idea against its closest rival", "Fast to a good order, but the intervals come out too narrow: for research."],
      thompson: ["random draws from the current scores", "A good whole-list order; no side balancing and no exact selection probability."],
      topk: ["settle the top k", "Spends votes on the border of the top k ideas: for shortlists; the rest of the list stays rough."],
      balanced: ["least-shown ideas first", "Every idea is shown about as often as the others (as All Our Ideas): the fairest exposure, the least learnt per vote."],
      random: ["random pairs", "Every pair equally likely: the simplest design, and unbiased if you reweight votes later."],
    },
  };

  function describeChoice(sel) {
    const hint = $(`${sel.id}-hint`);
    const help = (HELP[sel.id] || {})[sel.value];
    if (hint) hint.textContent = help ? help[1] : "See docs/models.md and docs/samplers.md for what this does.";
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
    if (num(res.level)) $("db-level").textContent = `${Math.round(res.level * 100)}%`;
    $("db-updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
    const k = wantedK(res);
    if (neededK(res) === k) renderEnough(res);
    else if (!state.enoughTimer) state.enoughTimer = setTimeout(() => loadEnough(k), 300);
    renderRanking(ideas);
  }

  const SETTLE_WORDS = {
    in: "in the top",
    out: "out of the top",
    tied: "practically tied with the border",
    open: "still open",
  };

  /** "3–5, 9" for sorted places [3, 4, 5, 9]. */
  function placeRanges(places) {
    const out = [];
    for (let i = 0; i < places.length; i++) {
      let j = i;
      while (j + 1 < places.length && places[j + 1] === places[j] + 1) j++;
      out.push(i === j ? `${places[i]}` : `${places[i]}–${places[j]}`);
      i = j;
    }
    return out.join(", ");
  }

  function renderEnough(res) {
    const vn = res.votes_needed || {};
    const k = vn.top_k ?? vn.k ?? 10;
    const n = res.n_votes ?? 0;
    const bar = $("db-enough-progress");
    const text = $("db-enough-text");
    const places = vn.places || [];
    const margin = Math.round(100 * (num(vn.margin) ?? 0.55));
    const level = Math.round(100 * (num(vn.level) ?? num(res.level) ?? 0.95));
    const need = num(vn.votes_needed);
    const lo = num(vn.votes_needed_low);
    const hi = num(vn.votes_needed_high);
    $("db-enough-label").textContent = `Are there enough votes for a settled top ${k}?`;
    bar.value = Math.round(100 * (vn.settled ? 1 : num(vn.progress) ?? 0));
    text.title = vn.method ? `How: ${vn.method}` : "";
    if (vn.settled === true) {
      text.textContent = `Yes: the top ${k} is settled (${level}% confidence; ideas within ${margin}/${100 - margin} count as tied).`;
    } else if (n === 0) {
      text.textContent = "No votes yet.";
    } else if (need !== null) {
      let range = "";
      if (lo !== null && hi !== null) range = ` (${fmtInt.format(lo)}–${fmtInt.format(hi)} in 80% of simulations)`;
      else if (lo !== null) range = ` (at least ${fmtInt.format(lo)} in 90% of simulations)`;
      text.textContent = `About ${fmtInt.format(need)} more votes${range} until the top ${k} is settled.`;
    } else if (num(vn.horizon)) {
      text.textContent = `More than ${fmtInt.format(vn.horizon)} more votes: the open ideas are still too close to call.`;
    } else {
      text.textContent = "Not enough votes to estimate yet.";
    }
    const texts = new Map((res.ideas || []).map((i) => [String(i.idea ?? i.id), String(i.text ?? "")]));
    renderSettlePlaces(places, k, margin, n, (id) => texts.get(String(id)) || ideaText(id));
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
      const li = h("li", { "data-status": p.status, title: `${place}. ${textOf(p.idea)}: ${SETTLE_WORDS[p.status] || p.status}` },
        h("span", { class: "db-visually-hidden" }, `${place}. ${textOf(p.idea)}: ${SETTLE_WORDS[p.status] || p.status}`));
      if (place === k) li.classList.add("is-boundary");
      strip.append(li);
    });
    const names = (list) => list.slice(0, 4).map((pl) => `“${textOf(places[pl - 1].idea)}”`).join(", ") + (list.length > 4 ? " …" : "");
    const counts = [`${by.in.length} in`, `${by.out.length} out`];
    if (by.tied.length) counts.push(`${by.tied.length} practically tied`);
    counts.push(`${by.open.length} still open`);
    notes.append(h("li", {}, `Of ${places.length} ideas: ${counts.join(", ")} (dark: in, light: out, striped: tied, amber: open).`));
    if (by.tied.length) {
      notes.append(h("li", {}, `Places ${placeRanges(by.tied)} (${names(by.tied)}) are within ${margin}/${100 - margin} of the border at place ${k}: more votes will not separate them meaningfully.`));
    }
    if (by.open.length) {
      notes.append(h("li", {}, `Still open: places ${placeRanges(by.open)} (${names(by.open)}).`));
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
      const rankText = idea.rankLo === idea.rankHi ? `${idea.rank}` : `${idea.rankLo}–${idea.rankHi}`;
      const plot = h("div", { class: "db-plot", "aria-hidden": "true" });
      if (idea.placed && lo < 0 && hi > 0) {
        const zero = h("span", { class: "db-plot-zero" });
        zero.style.left = x(0);
        plot.append(zero);
      }
      const answers = idea.wins + idea.losses + idea.ties;
      if (!idea.placed) {
        plot.append(h("span", { class: "db-plot-none", text: answers === 1 ? "1 vote so far" : `${fmtInt.format(answers)} votes so far` }));
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
        ? `not enough votes yet to place it (${answers} so far)`
        : idea.score === null
          ? "no score yet"
          : `score ${fmt2.format(idea.score)}` +
            (idea.low !== null ? `, interval ${fmt2.format(idea.low)} to ${fmt2.format(idea.high)}` : "");
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
            : h("span", { class: "db-unplaced-badge", text: "not enough votes yet" }),
          " ",
          idea.placed && idea.tier !== undefined && idea.tier !== null ? h("span", { class: "db-tier", text: `tier ${idea.tier}` }) : null,
        ),
        h(
          "td",
          { class: "db-col-idea" },
          said(idea.text),
          idea.status !== "active" ? h("span", { class: "db-idea-status", text: idea.status }) : null,
        ),
        h("td", { class: "db-col-plot" }, plot, h("span", { class: "db-visually-hidden", text: plotText })),
        h("td", { class: "db-num", "data-label": "Beats random" }, idea.p === null || !idea.placed ? "–" : `${Math.round(idea.p * 100)}%`),
        h(
          "td",
          { class: "db-num", "data-label": "W / L / T" },
          `${idea.wins} / ${idea.losses} / ${idea.ties} `,
          h("span", { class: "db-sub", text: `${idea.skips} skipped` }),
        ),
        h(
          "td",
          { class: "db-num", "data-label": "Shown" },
          `${fmtInt.format(idea.exposure)} `,
          h("span", { class: "db-sub", text: `L ${idea.left} · R ${idea.right}` }),
        ),
      );
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    state.prevRanks = new Map(ideas.map((i) => [i.id, i.rank]));
  }

  /** The heading row of the ideas with too few answers to be placed (listed after the ranking). */
  function unplacedHead(count, placed) {
    const what = count === 1 ? "1 idea has" : `${fmtInt.format(count)} ideas have`;
    return h(
      "tr",
      { class: "db-unplaced-head", id: "db-unplaced-head" },
      h(
        "th",
        { colspan: "6", scope: "rowgroup" },
        h("span", { class: "db-unplaced-title", text: "Not enough votes yet" }),
        " ",
        h("span", {
          class: "db-sub",
          text:
            `${what} been compared too few times to place, so ${count === 1 ? "it is" : "they are"} not ranked` +
            (placed ? ` (the ${fmtInt.format(placed)} above are)` : "") +
            ". They join the ranking after a few more votes.",
        }),
      ),
    );
  }

  /* ---------------------------------------------------------------- groups */

  /** What a group's column says instead of an order when the group is not ranked yet. */
  function groupNote(g) {
    if (g.status === "no_votes") return "No votes yet";
    if (g.status === "too_few_votes") {
      const need = g.need ? ` (${fmtInt.format(g.n)} of ${fmtInt.format(g.need)} needed)` : "";
      return `Too few votes to rank${need}`;
    }
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
    const level = `${Math.round(g.level * 100)}%`;
    const rank = raw.placed === false ? "–" : i.rankLo === i.rankHi ? `${i.rank}` : `${i.rankLo}–${i.rankHi}`;
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
      const p = Math.round(100 * (up ? shift.p_higher : 1 - shift.p_higher));
      badge = h("span", {
        class: `db-shift ${up ? "db-shift-up" : "db-shift-down"}`,
        title: `${g.name} rate this ${up ? "higher" : "lower"} than everyone (${p}% probability)`,
        text: up ? "▲ higher" : "▼ lower",
      });
    }
    const label =
      raw.placed === false
        ? `${g.name}: not enough votes on this idea yet`
        : `${g.name}: rank ${rank}` +
          (i.low !== null ? `, score ${fmt2.format(i.score)} (${level} interval ${fmt2.format(i.low)} to ${fmt2.format(i.high)})` : "") +
          (badge ? `, credibly ${shift.direction} than everyone` : "");
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
        h("th", { scope: "col", text: "Idea" }),
        h("th", { scope: "col", class: "db-num", text: "Everyone" }),
        ...perGroup.map((g) =>
          h(
            "th",
            { scope: "col", class: "db-num", "data-status": g.status },
            g.name,
            " ",
            h("span", { class: "db-sub", text: `${fmtInt.format(g.n)} ${g.n === 1 ? "vote" : "votes"}` }),
          ),
        ),
      ),
    );
    const ideaList = overall.length ? overall : ranked.length ? [...ranked[0].raw.values()].map(normIdea) : [];
    const rankOf = (i) => (i ? (i.rankLo === i.rankHi ? `${i.rank}` : `${i.rank} (${i.rankLo}–${i.rankHi})`) : "–");
    const rows = ideaList.map((idea, row) => {
      const diffs = differ.get(idea.id) || [];
      const involved = new Set(diffs.flatMap((d) => [d.higher, d.lower]));
      const title = diffs.map((d) => `${d.higher} rate it higher than ${d.lower} (${Math.round(100 * d.p_higher)}% probability)`).join("; ");
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
          diffs.length > 0 ? h("span", { class: "db-disagree", title, text: "disagree" }) : null,
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
    return found ? found.text : `Idea ${id}`;
  }

  /** "similar to #12: <its text>" for an idea that nearly repeats an earlier one. */
  function similarNote(idea) {
    if (idea.similar_to === null || idea.similar_to === undefined) return null;
    const other = state.ideas.find((i) => String(i.id) === String(idea.similar_to));
    return h(
      "span",
      { class: "db-similar", "data-similar-to": idea.similar_to },
      `similar to #${idea.similar_to}${other && other.status !== "active" ? ` (${other.status})` : ""}: `,
      said(ideaText(idea.similar_to)),
    );
  }

  async function setIdeaStatus(idea, status, button) {
    button.disabled = true;
    try {
      await api("PATCH", surveyPath(`/ideas/${encodeURIComponent(idea.id)}`), { json: { status } });
      note("db-ideas-note", `“${isolated(plain(idea.text).slice(0, 60))}” is now ${status}.`);
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
        const approve = h("button", { class: "db-btn db-btn-small db-btn-primary", type: "button", text: "Approve" });
        const reject = h("button", { class: "db-btn db-btn-small db-btn-danger", type: "button", text: "Reject" });
        approve.setAttribute("aria-label", `Approve: ${plain(idea.text)}`);
        reject.setAttribute("aria-label", `Reject: ${plain(idea.text)}`);
        approve.addEventListener("click", () => setIdeaStatus(idea, "active", approve));
        reject.addEventListener("click", () => setIdeaStatus(idea, "rejected", reject));
        li.append(h("span", { class: "db-sub", text: when(idea.created_at ?? idea.created) }), h("span", { class: "db-actions" }, approve, reject));
        return li;
      }),
    );
    const others = state.ideas.filter((i) => i.status !== "pending");
    $("db-ideas").replaceChildren(
      ...others.map((idea) => {
        const li = h(
          "li",
          { "data-idea": idea.id, "data-status": idea.status },
          said(idea.text),
          h("span", { class: "db-idea-status", text: `${idea.status}${idea.author === "participant" ? " · by a participant" : ""}${ideaCounts(idea)}${translatedInto(idea)}` }),
          similarNote(idea),
        );
        const active = idea.status === "active";
        const btn = h("button", { class: "db-btn db-btn-small", type: "button", text: active ? "Retire" : "Reactivate" });
        btn.setAttribute("aria-label", `${active ? "Retire" : "Reactivate"}: ${plain(idea.text)}`);
        btn.addEventListener("click", () => setIdeaStatus(idea, active ? "retired" : "active", btn));
        const edit = h("button", { class: "db-btn db-btn-small", type: "button", text: "Edit" });
        edit.setAttribute("aria-label", `Edit: ${plain(idea.text)}`);
        edit.addEventListener("click", () => editIdea(li, idea));
        li.append(h("span", { class: "db-actions" }, edit, btn));
        return li;
      }),
    );
  }

  /** " · in cy, ar": the languages the organiser translated the idea into. */
  function translatedInto(idea) {
    const tags = Object.keys(idea.translations || {});
    return tags.length ? ` · in ${tags.join(", ")}` : "";
  }

  /** " · 12 votes · shown 20 times" from the latest results (active ideas only). */
  function ideaCounts(idea) {
    const r = ((state.results && state.results.ideas) || []).find((x) => String(x.id ?? x.idea) === String(idea.id));
    if (!r) return "";
    const votes = (r.wins ?? 0) + (r.losses ?? 0) + (r.ties ?? 0);
    const shown = (r.shown_left ?? 0) + (r.shown_right ?? 0);
    return ` · ${fmtInt.format(votes)} vote${votes === 1 ? "" : "s"} · shown ${fmtInt.format(shown)} time${shown === 1 ? "" : "s"}`;
  }

  /** Edit an idea's text and its translations in place (its votes are kept): one field per
   * language the survey or the idea has, and one for a new language. */
  function editIdea(li, idea) {
    const input = h("input", { class: "db-input", maxlength: "280", value: idea.text, "aria-label": "Idea text" });
    const save = h("button", { class: "db-btn db-btn-small db-btn-primary", type: "submit", text: "Save" });
    const cancel = h("button", { class: "db-btn db-btn-small", type: "button", text: "Cancel" });
    const own = idea.translations || {};
    const survey = state.survey || {};
    const tags = [...new Set([...Object.keys(survey.translations || {}), ...Object.keys(own)])].filter((t) => t !== survey.language);
    const rows = tags.map((tag) => {
      const field = h("input", { class: "db-input", maxlength: "280", value: own[tag] || "", dir: "auto", "data-tag": tag });
      field.setAttribute("aria-label", `Idea in ${languageName(tag)} (${tag})`);
      return h("label", { class: "db-translation" }, h("span", { text: tag }), field);
    });
    const newTag = h("input", { class: "db-input", spellcheck: "false", placeholder: "cy", "aria-label": "Another language: tag" });
    const newText = h("input", { class: "db-input", maxlength: "280", dir: "auto", "aria-label": "Another language: the idea in it" });
    const translations = "translations" in idea ? h("div", { class: "db-translations" }, ...rows, h("div", { class: "db-translation" }, newTag, newText)) : null;
    const form = h("form", { class: "db-inline-form db-edit-idea", novalidate: true }, input, save, cancel, translations);
    li.replaceChildren(form);
    input.focus();
    cancel.addEventListener("click", () => {
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
        note(
          "db-ideas-note",
          changes.text
            ? `Idea changed to “${isolated(plain(text).slice(0, 60))}”. Its votes are kept.`
            : `Translations of “${isolated(plain(idea.text).slice(0, 60))}” saved.`,
        );
        await Promise.allSettled([loadIdeas(), loadResults()]);
      } catch (err) {
        note("db-ideas-note", err.code === "duplicate_idea" ? "Another idea already says that." : err.message, "error");
        save.disabled = false;
      }
    });
  }

  async function addIdea(event) {
    event.preventDefault();
    const input = $("db-add-idea-text");
    const text = input.value.trim();
    if (!text) return note("db-ideas-note", "Write the idea first.", "error");
    try {
      await api("POST", surveyPath("/ideas"), { json: { text } });
      input.value = "";
      note("db-ideas-note", "Idea added.");
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
      note("db-ideas-note", `Imported ${res.added} ideas.`);
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
            g.flags ? h("span", { class: "db-flags", text: `${g.flags} flag${g.flags === 1 ? "" : "s"}` }) : null,
          ),
          g.reasons.length ? h("p", { class: "db-muted", text: `Flag reasons: ${g.reasons.map(isolated).join("; ")}` }) : null,
          g.comments.length
            ? h(
                "ul",
                null,
                ...g.comments.map((c) => h("li", null, said(c.text, "db-comment-text"), " ", h("time", { text: when(c.created_at ?? c.created) }))),
              )
            : h("p", { class: "db-muted", text: "No comments." }),
        ),
      ),
    );
  }

  /* ---------------------------------------------------------------- suspicious voters */

  const REASONS = {
    against_crowd: "Against the crowd",
    side_bias: "Always one side",
    fast: "Too fast to read",
    burst: "Burst of answers",
    shared_client: "Many from one address",
  };
  const fmtPct = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });
  const fmt1 = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  /** "1,300 times", "more than a million times" for a likelihood ratio. */
  const times = (ratio) => (ratio >= 1e6 ? "more than a million times" : `${fmtInt.format(Math.round(ratio))} times`);
  const sds = (z) => `${fmt1.format(Math.abs(z))} standard deviation${Math.abs(z) === 1 ? "" : "s"}`;

  /** The evidence for one flagged voter, in words: one sentence per signal. */
  function voterEvidence(v) {
    const why = new Set(v.reasons || []);
    const out = [];
    if (why.has("against_crowd")) {
      const lr = num(v.agreement_log_lr) ?? 0;
      const fit = lr < 0 ? `a coin toss explains them ${times(Math.exp(-lr))} better than the crowd’s view does` : `the crowd’s view explains them only ${times(Math.exp(lr))} better than a coin toss`;
      out.push(`Choices unlike everyone else’s: ${fit}, ${sds(v.agreement_z)} below a voter who sees the ideas as the crowd does (flagged from 3).`);
    }
    if (why.has("side_bias")) {
      out.push(`Always one side: chose the left idea in ${fmtPct.format(v.left_share)} of answers. About half is normal: each pair is shown in random order.`);
    }
    if (why.has("fast")) out.push(`Too fast to read: ${fmtPct.format(v.fast_share)} of answers came within 0.4 s of the pair appearing.`);
    if (why.has("burst")) {
      const span = v.fastest_10_answers_s < 0.1 ? "less than 0.1" : fmt1.format(v.fastest_10_answers_s);
      out.push(`A burst: 10 answers in a row within ${span} s (a person needs a few seconds for each).`);
    }
    if (why.has("shared_client")) {
      out.push(
        `One of ${fmtInt.format(v.client_voters)} voters who started from the same address within 10 minutes, and their answers together go against the crowd (${sds(v.client_agreement_z ?? 0)} below a typical voter). Many people behind one school or office address are normal; with answers like these it points to fake voters.`,
      );
    } else if (v.client_voters > 1) {
      const others = v.client_voters - 1;
      out.push(`Shares an address with ${fmtInt.format(others)} other voter${others === 1 ? "" : "s"} who started within 10 minutes (normal for a school or an office).`);
    }
    return out;
  }

  async function loadVoters() {
    const res = await api("GET", surveyPath("/voters/flagged"));
    const voters = (res && res.voters) || [];
    const badge = $("db-flagged-badge");
    badge.textContent = String(voters.length);
    badge.hidden = voters.length === 0;
    badge.setAttribute("aria-label", `${voters.length} flagged`);
    $("db-voters-empty").hidden = voters.length > 0;
    $("db-voters-mode").textContent = state.survey.down_weight_flagged
      ? "Down-weighting is on (Settings): the voters listed here count a tenth in the ranking until you void them."
      : "Down-weighting is off (Settings): the voters listed here count in full until you void them.";
    $("db-voters").replaceChildren(
      ...voters.map((v) => {
        const button = h("button", { class: "db-btn db-btn-small db-btn-danger", type: "button", text: "Void this voter" });
        button.setAttribute("aria-label", `Void voter ${v.voter}`);
        button.addEventListener("click", () => voidFlagged(v, button));
        return h(
          "article",
          { class: "db-voter", "data-voter": v.voter },
          h(
            "h3",
            null,
            h("span", null, "Voter ", h("code", { text: v.voter })),
            ...v.reasons.map((r) => h("span", { class: "db-flags", text: REASONS[r] || r })),
          ),
          h("p", { class: "db-muted", text: `${fmtInt.format(v.answers)} answer${v.answers === 1 ? "" : "s"} count now${v.group ? ` · group ${isolated(v.group)}` : ""}` }),
          h("ul", { class: "db-evidence" }, ...voterEvidence(v).map((t) => h("li", { text: t }))),
          button,
        );
      }),
    );
  }

  async function voidFlagged(v, button) {
    const n = `${fmtInt.format(v.answers)} answer${v.answers === 1 ? "" : "s"}`;
    if (!window.confirm(`Void voter ${v.voter}? Their ${n} will stop counting and the ranking will be recomputed without them. This cannot be undone.`)) return;
    button.disabled = true;
    try {
      const res = await api("POST", surveyPath(`/voters/${encodeURIComponent(v.voter)}/void`), { json: { reason: (v.reasons || []).join(", ") } });
      note("db-voters-note", `Voided voter ${v.voter}: ${fmtInt.format(res.voided)} answers no longer count. The ranking has been recomputed.`);
      await Promise.allSettled([loadVoters(), loadResults()]);
    } catch (e) {
      button.disabled = false;
      note("db-voters-note", e.message, "error");
    }
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
      $("db-activity-summary").textContent = "No votes yet.";
      fig.append(h("p", { class: "db-empty", text: "The chart appears after the first votes." }));
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
    const unit = step < 3600 ? `${step / 60} minutes` : step < 86400 ? `${step / 3600} hour${step === 3600 ? "" : "s"}` : step === 86400 ? "day" : "week";
    const zone = zoneLabel();
    $("db-activity-summary").textContent =
      `${fmtInt.format(times.length)} votes between ${when(first)} and ${when(last)}, per ${unit}. Times are in ${zone}.`;
    $("db-activity-table").tHead.rows[0].cells[0].textContent = `From (${zone})`;

    const W = 760;
    const H = 220;
    const m = { l: 40, r: 10, t: 10, b: 28 };
    const NS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", `Bar chart of votes per ${unit}; peak ${max} votes.`);
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
      svg.append(line(m.l, y, W - m.r, y, "db-chart-grid"), label(m.l - 6, y + 4, String(tick), "end"));
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
      title.textContent = `${when(start + i * step)}: ${c} votes`;
      r.append(title);
      svg.append(r);
      tbody.append(h("tr", null, h("td", { text: when(start + i * step) }), h("td", { class: "db-num", text: String(c) })));
    });
    const fmtTick = (t) =>
      new Date(t * 1000).toLocaleString(undefined, step >= 86400 ? { dateStyle: "short" } : { hour: "2-digit", minute: "2-digit" });
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
      `<iframe src="${base}/w/${sid}" title="Vote: which idea is better?" width="100%" height="460" style="border:0"></iframe>`;
    $("db-widget-link").href = `${base}/w/${sid}`;
    checkEmbedSite();
    const box = $("db-exports");
    const items = [
      h(
        "div",
        { class: "db-export" },
        h("strong", { text: "Results" }),
        exportButton("CSV", surveyPath("/results.csv"), `${s.id}-results.csv`),
      ),
    ];
    for (const [kind, label] of EXPORTS) {
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
    const b = h("button", { class: "db-btn db-btn-small", type: "button", text: label });
    b.setAttribute("aria-label", `Download ${filename}`);
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
        banner(`Export failed: ${err.message}`);
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
      text = allowed.length
        ? `Allowed now: ${allowed.join(", ")}. Type a page’s address to check it.`
        : "No other site may show the widget yet. Type the address of the page that will show it.";
    } else if (origin === "") {
      text = "That is not a web address. Use the form https://www.example.org/page.";
    } else if (allowed.includes(origin)) {
      text = `${origin} is allowed: the widget will show on its pages.`;
    } else {
      text = `${origin} is not allowed yet: add it to “Allowed embedding sites” in Settings, or press “Allow this site”.`;
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
      note("db-embed-site-note", `${origin} is allowed now: reload its page to see the widget.`);
    } catch (e) {
      note("db-embed-site-note", `Could not allow ${origin}: ${e.message}`, "error");
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
      err.textContent = `Not a site origin: ${bad.join(", ")}. Use the form https://www.example.org (no path).`;
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
      note("db-settings-note", "Settings saved.");
    } catch (e) {
      const detail = e.errors && e.errors.length ? e.errors.map((x) => `${x.field}: ${x.message}`).join("; ") : e.message;
      err.textContent = `Could not save: ${detail}`;
      err.hidden = false;
    }
  }

  async function setOpen(open) {
    try {
      state.survey = await api("POST", surveyPath(open ? "/open" : "/close"));
      renderSurvey();
      note("db-settings-note", open ? "The survey is open for voting." : "Voting is closed.");
    } catch (e) {
      const err = $("db-settings-error");
      err.textContent = e.code === "not_enough_ideas" ? "Add at least two active ideas before opening the survey." : e.message;
      err.hidden = false;
    }
  }

  async function voidVoter(event) {
    event.preventDefault();
    const id = $("db-void-id").value.trim();
    if (!id) return note("db-void-note", "Enter a voter id.", "error");
    if (!window.confirm(`Remove every vote of voter ${id}? This cannot be undone.`)) return;
    try {
      const res = await api("POST", surveyPath(`/voters/${encodeURIComponent(id)}/void`), { json: {} });
      note("db-void-note", `Voided ${res.voided} votes of ${id}.`);
      $("db-void-id").value = "";
      await loadResults();
    } catch (e) {
      note("db-void-note", e.code === "voter_not_found" ? "No voter with that id in this survey." : e.message, "error");
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
      err.textContent = "Write the question.";
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
    if (e.key === "ArrowRight") j = (i + 1) % TABS.length;
    else if (e.key === "ArrowLeft") j = (i - 1 + TABS.length) % TABS.length;
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
    live.textContent = mode === "on" ? "Live" : mode === "retry" ? "Reconnecting…" : "Offline";
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
  $("db-signout").addEventListener("click", () => signOut("You have signed out."));
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
        b.textContent = "Copied";
      } catch (_) {
        b.textContent = "Press Ctrl+C";
      }
      setTimeout(() => {
        b.textContent = "Copy";
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
