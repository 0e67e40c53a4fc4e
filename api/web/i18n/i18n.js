/* ranker message catalogues: the words of the voting widget and the organiser dashboard.
 *
 * Each catalogue file (api/web/i18n/PAGE.LANG.js) calls rankerI18n.add(PAGE, LANG, {key: message}).
 * A message is a string with {name} placeholders, or, for a count, an object keyed by the
 * Intl.PluralRules categories of its language (zero, one, two, few, many, other), chosen by the
 * number given as the `n` parameter. Numbers given as parameters are formatted for the language
 * (Intl.NumberFormat); dates through Intl.DateTimeFormat. No HTML in messages: a placeholder can
 * be filled with a DOM node (parts()), e.g. an idea's text isolated in its own direction.
 *
 * The language: the first of the wanted tags (most wanted first) that has a catalogue, by exact
 * tag, then by its language alone (pt-BR -> pt), then any tag of that language; else English.
 *
 * A browser may lack Intl data for a language it has no locale for (Chromium builds without
 * Welsh date, list and language-name data fall back to English words): dates are then written
 * in figures only (01/12/2026, 14:37), lists joined with commas and language names left as tags,
 * so no English word slips in. Plural rules and numbers need no words.
 */
(() => {
  "use strict";

  const catalogues = {}; // page -> language -> messages
  const RTL = new Set(["ar", "arc", "ckb", "dv", "fa", "he", "ku", "ps", "sd", "ug", "ur", "yi"]);

  function add(page, lang, messages) {
    (catalogues[page] = catalogues[page] || {})[lang] = messages;
  }

  function canonical(tag) {
    try {
      return Intl.getCanonicalLocales(String(tag))[0] || null;
    } catch (_) {
      return null;
    }
  }

  /** The first of ``wanted`` (BCP 47 tags) that ``available`` offers, or null. */
  function pick(wanted, available) {
    for (const raw of wanted) {
      const tag = raw ? canonical(raw) : null;
      if (!tag) continue;
      if (available.includes(tag)) return tag;
      const base = tag.split("-")[0].toLowerCase();
      if (available.includes(base)) return base;
      const same = available.find((a) => a.split("-")[0].toLowerCase() === base);
      if (same) return same;
    }
    return null;
  }

  function direction(lang) {
    try {
      const loc = new Intl.Locale(lang);
      const info = typeof loc.getTextInfo === "function" ? loc.getTextInfo() : loc.textInfo;
      if (info && info.direction) return info.direction;
    } catch (_) {
      /* fall back to the list */
    }
    return RTL.has(String(lang).split("-")[0].toLowerCase()) ? "rtl" : "ltr";
  }

  /** ``options`` of Intl.DateTimeFormat with every word replaced by figures. */
  function figures(options) {
    const o = {};
    if (options.dateStyle || options.year || options.month || options.day || options.weekday) {
      Object.assign(o, { year: "numeric", month: "2-digit", day: "2-digit" });
    }
    if (options.timeStyle || options.hour || options.minute) Object.assign(o, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    return o;
  }

  const knows = (api, code) => {
    try {
      return api.supportedLocalesOf(code).length > 0;
    } catch (_) {
      return false;
    }
  };

  /** A translator for ``page`` in ``lang`` (English where that language has no catalogue). */
  function create(page, lang) {
    const book = catalogues[page] || {};
    const en = book.en || {};
    const code = book[lang] ? lang : "en";
    const own = book[code] || en;
    const plural = new Intl.PluralRules(code);
    const numbers = new Intl.NumberFormat(code);
    const value = (v) => (typeof v === "number" ? numbers.format(v) : v);

    function message(key, params) {
      let msg = own[key] !== undefined ? own[key] : en[key];
      if (msg === undefined) return key; // a missing key shows itself (the tests catch it)
      if (typeof msg === "object") {
        const n = params && typeof params.n === "number" ? params.n : 0;
        msg = msg[plural.select(n)] !== undefined ? msg[plural.select(n)] : msg.other;
      }
      return msg;
    }

    /** The message ``key`` with its {placeholders} filled, as text. */
    function t(key, params) {
      return message(key, params).replace(/\{(\w+)\}/g, (m, name) =>
        params && params[name] !== undefined ? String(value(params[name])) : m,
      );
    }

    /** The message as a list of strings and nodes (a parameter may be a DOM node). */
    function parts(key, params) {
      const out = [];
      const text = message(key, params);
      const re = /\{(\w+)\}/g;
      let at = 0;
      let m;
      while ((m = re.exec(text))) {
        if (m.index > at) out.push(text.slice(at, m.index));
        const v = params ? params[m[1]] : undefined;
        out.push(v === undefined ? m[0] : typeof v === "object" && v !== null ? v : String(value(v)));
        at = re.lastIndex;
      }
      if (at < text.length) out.push(text.slice(at));
      return out;
    }

    return {
      lang: code,
      dir: direction(code),
      t,
      parts,
      has: (key) => own[key] !== undefined,
      number: (x, options) => new Intl.NumberFormat(code, options).format(x),
      percent: (x) => new Intl.NumberFormat(code, { style: "percent", maximumFractionDigits: 0 }).format(x),
      date: (d, options) =>
        knows(Intl.DateTimeFormat, code)
          ? new Intl.DateTimeFormat(code, options).format(d)
          : new Intl.DateTimeFormat("en-GB", figures(options)).format(d),
      list: (items) =>
        knows(Intl.ListFormat, code) ? new Intl.ListFormat(code, { type: "conjunction" }).format(items) : items.join(", "),
      languageName: (tag) => {
        try {
          return (knows(Intl.DisplayNames, code) && new Intl.DisplayNames([code], { type: "language" }).of(tag)) || tag;
        } catch (_) {
          return tag;
        }
      },
    };
  }

  /** Fill the static words of a page: data-i18n="key" (text), data-i18n-attr="attr:key attr:key". */
  function translate(root, L) {
    for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = L.t(node.dataset.i18n);
    for (const node of root.querySelectorAll("[data-i18n-attr]")) {
      for (const pair of node.dataset.i18nAttr.split(/\s+/)) {
        const [attr, key] = pair.split(":");
        if (attr && key) node.setAttribute(attr, L.t(key));
      }
    }
  }

  window.rankerI18n = { add, pick, create, translate, direction, catalogues };
})();
