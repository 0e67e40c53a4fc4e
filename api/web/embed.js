/* ranker embed loader: one script tag puts the voting widget on any page.
 *
 *   <script src="https://RANKER-HOST/embed.js" data-survey="SURVEY_ID" async></script>
 *
 * Optional attributes: data-theme (light|dark|auto), data-accent, data-bg, data-fg (colours such as
 * #0a7c4f), data-font, data-radius (px), data-group, data-thanks (votes before the thank-you),
 * data-lang (the widget's language, a BCP 47 tag such as "cy"; the survey's own `language` setting
 * wins, and without either the visitor's browser languages choose), data-height (initial px),
 * data-title (the iframe's accessible name), data-target (CSS selector of
 * the element to put the widget in; default: right after the script tag), data-remember="false"
 * (do not keep the anonymous voter token in this page's localStorage; by default the loader keeps
 * it there when the browser denies storage to the cross-site iframe, so returning visitors resume).
 *
 * Surveys that take voters from the embedding site only (identity mode "site") need a token the site
 * signed for its signed-in user (a JWT; see docs/user-guide.md "Who may vote" and examples/site_identity):
 *   data-site-token="eyJ..."          the token itself (the page may update the attribute; it is read
 *                                     each time the widget asks), or
 *   data-site-token-url="/ranker-token"  a URL of this page's own origin that answers the token (as
 *                                     text or {"token": "..."}), fetched with the page's cookies
 *                                     when the widget asks, so a long-open page gets a fresh one.
 * The token goes only to the widget's origin, by postMessage; never into a URL.
 *
 * The widget reports to the page with DOM events on the iframe that bubble to document:
 *   document.addEventListener("ranker:vote", (e) => console.log(e.detail));
 * Types: ranker:ready, ranker:resize, ranker:vote, ranker:skip, ranker:undo, ranker:idea,
 * ranker:comment, ranker:flag, ranker:error; each detail is {ranker: 1, type, survey, frame, ...}. Messages are accepted only
 * from the widget's own origin and its own iframe window. No cookies are set.
 *
 * A page whose origin is not on the survey's allowed embedding sites gets, instead of the browser's
 * refused frame, a notice saying which origin the organiser must add (the loader asks
 * GET /embed/check/SURVEY), and a ranker:error event with code "origin_not_allowed".
 */
(function () {
  "use strict";

  var PROTOCOL = 1;
  var PASS = ["theme", "accent", "bg", "fg", "font", "radius", "group", "thanks", "lang"];
  var registry = (window.__rankerEmbed = window.__rankerEmbed || { frames: {}, listening: false, n: 0 });

  function mount(script) {
    if (!script || script.getAttribute("data-ranker-mounted")) return;
    script.setAttribute("data-ranker-mounted", "1");
    var survey = script.getAttribute("data-survey") || "";
    if (!/^[A-Za-z0-9_.~-]{1,128}$/.test(survey)) {
      if (window.console) console.error("ranker embed: missing or invalid data-survey attribute");
      return;
    }
    var origin = new URL(script.src, window.location.href).origin;
    var frameId = "rk" + ++registry.n + "-" + Math.random().toString(36).slice(2, 8);
    var url = new URL("/w/" + encodeURIComponent(survey), origin);
    for (var i = 0; i < PASS.length; i++) {
      var v = script.getAttribute("data-" + PASS[i]);
      if (v !== null && v !== "") url.searchParams.set(PASS[i], v);
    }
    var remember = script.getAttribute("data-remember") !== "false";
    if (!remember) url.searchParams.set("remember", "0");
    url.searchParams.set("frame", frameId);
    url.searchParams.set("origin", window.location.origin);

    var iframe = document.createElement("iframe");
    iframe.src = url.toString();
    iframe.title = script.getAttribute("data-title") || "Vote: which idea is better?";
    iframe.id = frameId;
    iframe.className = "ranker-widget";
    iframe.setAttribute("data-survey", survey);
    var height = parseInt(script.getAttribute("data-height") || "440", 10);
    iframe.style.cssText =
      "display:block;width:100%;max-width:100%;min-width:0;border:0;overflow:hidden;" +
      "color-scheme:normal;background:transparent;height:" +
      (isFinite(height) ? Math.max(120, Math.min(4000, height)) : 440) +
      "px";
    iframe.setAttribute("scrolling", "no");

    var target = null;
    var sel = script.getAttribute("data-target");
    if (sel) {
      try {
        target = document.querySelector(sel);
      } catch (_) {
        target = null;
      }
    }
    if (target) target.appendChild(iframe);
    else script.parentNode.insertBefore(iframe, script.nextSibling);

    registry.frames[frameId] = { iframe: iframe, origin: origin, survey: survey, remember: remember, script: script };
    checkAllowed(registry.frames[frameId], frameId);
  }

  /** Ask the widget's server whether this page may show the survey. If not, the browser would
   * show only a refused (grey) frame, with the reason in the console: show the site owner what
   * to do instead, and tell the page with a ranker:error event. */
  function checkAllowed(entry, frameId) {
    if (typeof fetch !== "function") return;
    fetch(entry.origin + "/embed/check/" + encodeURIComponent(entry.survey), { credentials: "omit", cache: "no-store" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (res) {
        if (!res || res.allowed) return;
        var here = window.location.origin;
        var code = res.found ? "origin_not_allowed" : "survey_not_found";
        var lines = res.found
          ? [
              "This survey cannot be shown on this site yet.",
              "The survey’s organiser needs to add " + here + " to its allowed embedding sites " +
                "(ranker dashboard: Settings, “Allowed embedding sites”), then reload this page.",
            ]
          : ["Survey “" + entry.survey + "” was not found.", "Check the data-survey attribute of the script tag."];
        var box = document.createElement("div");
        box.className = "ranker-widget-refused";
        box.setAttribute("role", "note");
        box.setAttribute("data-code", code);
        box.style.cssText =
          "box-sizing:border-box;width:100%;margin:0;padding:14px 16px;border:2px dashed #b42318;" +
          "border-radius:12px;background:#ffffff;color:#17202e;font:16px/1.45 system-ui,sans-serif";
        for (var i = 0; i < lines.length; i++) {
          var p = document.createElement(i === 0 ? "strong" : "p");
          p.textContent = lines[i];
          p.style.cssText = "display:block;margin:" + (i === 0 ? "0" : "6px 0 0");
          box.appendChild(p);
        }
        entry.iframe.style.display = "none";
        entry.iframe.parentNode.insertBefore(box, entry.iframe);
        if (window.console) console.warn("ranker embed: " + lines.join(" "));
        var detail = { ranker: PROTOCOL, type: "error", survey: entry.survey, frame: frameId, code: code, origin: here };
        var ev;
        try {
          ev = new CustomEvent("ranker:error", { detail: detail, bubbles: true });
        } catch (_) {
          ev = document.createEvent("CustomEvent");
          ev.initCustomEvent("ranker:error", true, false, detail);
        }
        entry.iframe.dispatchEvent(ev);
      })
      .catch(function () {
        /* the server is unreachable: the frame shows the browser's own error */
      });
  }

  /** The site's token for its signed-in user (null: none): from data-site-token-url (this page's own
   * origin only, with its cookies) or data-site-token. */
  function siteToken(script) {
    var ok = function (t) {
      return typeof t === "string" && t.length > 0 && t.length <= 4096 ? t : null;
    };
    var url = script.getAttribute("data-site-token-url");
    if (!url) return Promise.resolve(ok(script.getAttribute("data-site-token")));
    var u;
    try {
      u = new URL(url, window.location.href);
    } catch (_) {
      return Promise.resolve(null);
    }
    if (u.origin !== window.location.origin) return Promise.resolve(null);
    return fetch(u.toString(), { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json, text/plain" } })
      .then(function (r) {
        return r.ok ? r.text() : "";
      })
      .then(function (text) {
        var t = (text || "").trim();
        if (t.charAt(0) === "{") t = JSON.parse(t).token;
        return ok(t);
      })
      .catch(function () {
        return null;
      });
  }

  function onMessage(event) {
    var data = event.data;
    if (!data || typeof data !== "object" || data.ranker !== PROTOCOL || typeof data.type !== "string") return;
    var entry = registry.frames[data.frame];
    // Origin check plus source check: only the widget's own window, from the widget's own origin.
    if (!entry || event.origin !== entry.origin || event.source !== entry.iframe.contentWindow) return;
    if (!/^[a-z]{1,20}$/.test(data.type)) return;
    if (data.type === "resize" && typeof data.height === "number" && isFinite(data.height)) {
      entry.iframe.style.height = Math.max(120, Math.min(4000, Math.ceil(data.height))) + "px";
    }
    var key = "ranker:voter:" + entry.survey;
    if (data.type === "ready" && entry.remember) {
      // Hand back the voter token this page kept for the widget (null: none), to its origin only.
      var token = null;
      try {
        token = window.localStorage.getItem(key);
      } catch (_) {
        token = null;
      }
      entry.iframe.contentWindow.postMessage({ ranker: PROTOCOL, type: "voter", frame: data.frame, token: token }, entry.origin);
    }
    if (data.type === "sitetoken") {
      // The widget asks who is signed in here; the answer goes to the widget's origin only.
      siteToken(entry.script).then(function (token) {
        entry.iframe.contentWindow.postMessage({ ranker: PROTOCOL, type: "sitetoken", frame: data.frame, token: token }, entry.origin);
      });
      return;
    }
    if (data.type === "voter") {
      // The widget could not store its token itself; keep it here. Not re-dispatched to the page.
      if (entry.remember) {
        try {
          if (typeof data.token === "string" && data.token.length < 4096) window.localStorage.setItem(key, data.token);
          else window.localStorage.removeItem(key);
        } catch (_) {
          /* the page's storage is unavailable too */
        }
      }
      return;
    }
    var detail = JSON.parse(JSON.stringify(data));
    var ev;
    try {
      ev = new CustomEvent("ranker:" + data.type, { detail: detail, bubbles: true });
    } catch (_) {
      ev = document.createEvent("CustomEvent");
      ev.initCustomEvent("ranker:" + data.type, true, false, detail);
    }
    entry.iframe.dispatchEvent(ev);
  }

  if (!registry.listening) {
    registry.listening = true;
    window.addEventListener("message", onMessage);
  }

  if (document.currentScript) mount(document.currentScript);
  var all = document.querySelectorAll("script[data-survey]");
  for (var j = 0; j < all.length; j++) {
    if (/\/embed\.js(\?|#|$)/.test(all[j].src || "")) mount(all[j]);
  }
})();
