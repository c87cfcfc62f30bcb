// The AnalyticBot Mini App: the owner's channels from the read-only API (/api/v1), drawn with plain DOM and SVG.
//
// Nothing is fetched from anywhere but this server: no library, no CDN, and not telegram.org's
// telegram-web-app.js. The Telegram client passes what we need in the URL fragment (#tgWebAppData=<initData>&
// tgWebAppThemeParams=<JSON>&...); when the page runs with that script anyway (window.Telegram.WebApp), its
// values are used instead. Every request carries `Authorization: tma <initData>`, which the server checks
// against the bot token (serving/api/auth.py).
//
// All text from the API (channel titles, reasons) goes in through textContent, never as markup.
"use strict";

const API = "/api/v1";
const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DASH = "—";
const POSTS_PAGE = 20;
const CHANNEL_KEY = "analyticbot.channel";
const INT = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });
// Two decimals below 10% (an ER of 1.75% next to 0.62%), one above (an ERR of 17.6%).
const PERCENT_SMALL = new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 2, maximumFractionDigits: 2 });
const PERCENT = new Intl.NumberFormat("en-US", { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 });

const MESSAGES = {
  401: ["Open this page from the bot in Telegram",
        "Your Telegram sign-in could not be checked. Close this page and open it again from the bot's menu."],
  404: ["Channel not found", "This channel is not among yours any more. Pick another one, or add it again in the bot."],
  429: ["Too many requests", "Wait a few seconds and try again."],
  503: ["No data yet", "The numbers appear once the first snapshot has been published. Try again in a minute."],
  0: ["No connection", "The server could not be reached. Check your connection and try again."],
};
const EXPIRED = ["This page has been open too long", "Close it and open it again from the bot in Telegram."];

// -- small DOM helpers -------------------------------------------------------------------------------------------
const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
const SVG_NS = "http://www.w3.org/2000/svg";

function node(tag, attrs = {}, children = [], ns = null) {
  const el = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) el.append(child);
  return el;
}
const svg = (tag, attrs, children) => node(tag, attrs, children, SVG_NS);

// -- formatting: null is "—", never 0 ------------------------------------------------------------------------------
const orDash = (format) => (value) => (value === null || value === undefined ? DASH : format(value));
const fmtInt = orDash((v) => INT.format(Math.round(v)));
const fmtPercent = orDash((v) => (Math.abs(v) < 0.1 ? PERCENT_SMALL : PERCENT).format(v));
const fmtSigned = orDash((v) => (v > 0 ? "+" : v < 0 ? "−" : "") + INT.format(Math.abs(Math.round(v))));
const fmtSignedPercent = orDash((v) => fmtSigned(v * 100) + "%");
const hourLabel = (hour) => String(hour).padStart(2, "0") + ":00";

// "2026-07-10T19:34:36" -> "10 Jul 19:34", read as written: *_local times are already in the channel's zone.
function fmtLocalTime(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(iso || "");
  return m ? `${Number(m[3])} ${MONTHS[Number(m[2]) - 1]} ${m[4]}:${m[5]}` : DASH;
}
const fmtDate = (iso) => fmtLocalTime(`${iso}T00:00`).slice(0, -6);
const dayNumber = (iso) => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86400000;

// -- launch parameters and theme -----------------------------------------------------------------------------------
function launchParams() {
  const hash = new URLSearchParams(location.hash.slice(1));
  const tg = window.Telegram && window.Telegram.WebApp ? window.Telegram.WebApp : null;
  let theme = tg && tg.themeParams && Object.keys(tg.themeParams).length ? tg.themeParams : null;
  if (!theme) {
    try {
      theme = JSON.parse(hash.get("tgWebAppThemeParams") || "null");
    } catch {
      theme = null;
    }
  }
  return { tg, initData: (tg && tg.initData) || hash.get("tgWebAppData") || "", theme: theme || {} };
}

function applyTheme(theme) {
  const root = document.documentElement;
  for (const [key, value] of Object.entries(theme)) {
    if (/^[a-z_]+$/.test(key) && /^#[0-9a-f]{3,8}$/i.test(String(value))) {
      root.style.setProperty(`--tg-theme-${key.replaceAll("_", "-")}`, value);
    }
  }
  const bg = /^#([0-9a-f]{6})$/i.exec(theme.bg_color || "");
  if (bg) {
    const n = parseInt(bg[1], 16);
    const luminance = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
    root.style.colorScheme = luminance < 0.5 ? "dark" : "light";
  }
}

// -- the API ---------------------------------------------------------------------------------------------------------
class ApiError extends Error {
  constructor(status, error, detail) {
    super(detail);
    Object.assign(this, { status, error, detail });
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function api(path, retries = 2) {
  let response;
  try {
    response = await fetch(API + path, { headers: { Authorization: "tma " + state.initData } });
  } catch {
    throw new ApiError(0, "network", "the server could not be reached");
  }
  if (response.status === 429 && retries > 0) {
    // The limiter answers with Retry-After; a page opening fires six requests at once, so one wait is normal.
    const wait = Math.min(Number(response.headers.get("Retry-After")) || 1, 5);
    await sleep(wait * 1000);
    return api(path, retries - 1);
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, body?.error || "error", body?.detail || response.statusText);
  }
  return body;
}

// -- page state --------------------------------------------------------------------------------------------------------
const launch = launchParams();
const state = { initData: launch.initData, channels: [], channelId: null, generation: 0, cursor: null };

function setReady(ready) {
  document.body.dataset.ready = ready ? "1" : "0";
}

function showMessage(title, detail, { code = "", retry = false } = {}) {
  $("loading").hidden = true;
  $("dashboard").hidden = true;
  $("message").hidden = false;
  $("message").dataset.code = code;
  $("message-title").textContent = title;
  $("message-detail").textContent = detail;
  $("message-retry").hidden = !retry;
  document.body.dataset.error = code || "message";
  setReady(true);
}

function showError(error) {
  const status = error instanceof ApiError ? error.status : 0;
  let [title, detail] = MESSAGES[status] || [`Something went wrong (${status})`, "Try again in a minute."];
  if (status === 401 && /expired/.test(error.detail || "")) [title, detail] = EXPIRED;
  if (!(error instanceof ApiError)) console.error(error);
  showMessage(title, detail, { code: error.error || "error", retry: status !== 401 && status !== 404 });
}

// -- headline cards ------------------------------------------------------------------------------------------------
function setCard(name, value, format) {
  const el = $(`card-${name}`);
  el.dataset.value = value === null || value === undefined ? "" : String(value);
  el.textContent = format(value);
}

function drawCards(overview, channel) {
  setCard("subscribers", overview.subscribers, fmtInt);
  setCard("growth", overview.growth, fmtSigned);
  setCard("growth-pct", overview.growth_pct, fmtSignedPercent);
  setCard("avg-post-reach", overview.avg_post_reach, fmtInt);
  setCard("err", overview.err, fmtPercent);
  setCard("err24", overview.err24, fmtPercent);
  setCard("er", overview.er, fmtPercent);
  $("reach-note").hidden = channel.reach_available !== false;
}

function drawChannelMeta(channel, overview) {
  const parts = [channel.username ? "@" + channel.username : "private channel", channel.time_zone];
  if (overview.date_to) parts.push("data to " + fmtDate(overview.date_to));
  if (channel.status && channel.status !== "active") parts.push(`the bot found it ${channel.status} at the last check`);
  $("channel-meta").textContent = parts.join(" · ");
}

// -- line charts (subscribers with forecast band; a post's views by age) ----------------------------------------------
const CHART = { width: 360, height: 170, left: 46, right: 10, top: 10, bottom: 22 };

/** An SVG line chart: `points` [{x, y}] (y may be null: a gap), `band` [{x, lower, upper}] shaded, `dashed`
 * [{x, y}] drawn dashed (the forecast), `marks` [{x, text}] labelled on the x axis. */
function lineChart({ points, dashed = [], band = [], marks = [], yFormat = (v) => COMPACT.format(v), label }) {
  const { width, height, left, right, top, bottom } = CHART;
  const xs = [...points, ...dashed, ...band].map((p) => p.x);
  const ys = [...points, ...dashed].map((p) => p.y).concat(band.flatMap((p) => [p.lower, p.upper]))
    .filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  if (!ys.length) {
    root.append(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "axis", text: "No data yet" }));
    return root;
  }
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.05 || 1;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x) => left + ((x - x0) / (x1 - x0)) * (width - left - right);
  const sy = (y) => top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom);
  const path = (pts) => {
    let d = "";
    let pen = "M";
    for (const p of pts) {
      if (p.y === null || p.y === undefined) {
        pen = "M";
        continue;
      }
      d += `${pen}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`;
      pen = "L";
    }
    return d;
  };

  for (const v of [y1 - pad, (y0 + y1) / 2, y0 + pad]) {
    root.append(svg("line", { x1: left, x2: width - right, y1: sy(v), y2: sy(v), class: "grid" }));
    root.append(svg("text", { x: left - 6, y: sy(v) + 4, "text-anchor": "end", class: "axis", text: yFormat(v) }));
  }
  const banded = band.filter((p) => p.lower !== null && p.upper !== null);
  if (banded.length) {
    const outline = [...banded.map((p) => [p.x, p.upper]), ...banded.reverse().map((p) => [p.x, p.lower])];
    root.append(svg("polygon", {
      class: "band", points: outline.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" "),
    }));
  }
  if (dashed.length) root.append(svg("path", { class: "line dashed", d: path(dashed) }));
  root.append(svg("path", { class: "line", d: path(points) }));
  marks.forEach((mark, i) => {
    const anchor = i === 0 ? "start" : i === marks.length - 1 ? "end" : "middle";
    root.append(svg("text", { x: sx(mark.x), y: height - 6, "text-anchor": anchor, class: "axis", text: mark.text }));
  });
  return root;
}

function drawGrowth(overview, forecast) {
  const points = overview.daily.map((d) => ({ x: dayNumber(d.date), y: d.subscribers }));
  const series = forecast?.series?.find((s) => s.metric === "subscribers");
  const ahead = series && series.status === "available" ? series.points : [];
  const last = [...points].reverse().find((p) => p.y !== null);
  const future = ahead.map((p) => ({ x: dayNumber(p.date), y: p.yhat, lower: p.yhat_lower, upper: p.yhat_upper }));
  const marks = [];
  if (overview.daily.length) marks.push({ x: points[0].x, text: fmtDate(overview.daily[0].date) });
  if (last) marks.push({ x: last.x, text: fmtDate(overview.date_to) });
  if (ahead.length) marks.push({ x: future[future.length - 1].x, text: fmtDate(ahead[ahead.length - 1].date) });

  const chart = lineChart({
    // The forecast is drawn as the model gives it, not joined to the last reading: a step between them is the
    // model's, and hiding it would make the first forecast day look like an observation.
    points, band: future, dashed: future, marks,
    label: "Subscribers by day" + (future.length ? ", with the forecast" : ""),
  });
  $("growth-chart").replaceChildren(chart);
  $("growth-chart").dataset.points = String(points.length);
  $("growth-chart").dataset.forecast = String(future.length);
  let legend = `Last ${overview.days} days`;
  if (future.length) legend += ` · dashed: forecast for ${future.length} days, shaded: 80% range`;
  else if (series) legend += ` · forecast: ${series.reason || series.status.replaceAll("_", " ")}`;
  $("growth-legend").textContent = legend;
}

// -- best times --------------------------------------------------------------------------------------------------
const BEST_TIMES_SHOWN = 3;

function drawBestTimes(best) {
  const list = $("best-times");
  const message = $("best-times-message");
  const slots = best.status === "available" ? [...best.slots].sort((a, b) => a.rank - b.rank).slice(0, BEST_TIMES_SHOWN) : [];
  list.replaceChildren(...slots.map((slot) => {
    const when = `${WEEKDAYS[slot.weekday]} ${hourLabel(slot.hour)}`;
    const range = slot.relative_reach_lower !== null && slot.relative_reach_upper !== null
      ? `typical post ${fmtSignedPercent(slot.relative_reach_lower - 1)} to ${fmtSignedPercent(slot.relative_reach_upper - 1)}`
      : null;
    const observed = slot.posts_observed
      ? `from ${slot.posts_observed} ${slot.posts_observed === 1 ? "post" : "posts"} at this time`
      : "no post at this time yet";
    return node("li", {
      "data-testid": "best-time", "data-rank": slot.rank, "data-weekday": slot.weekday, "data-hour": slot.hour,
      "data-value": slot.expected_relative_reach,
    }, [
      node("span", { class: "when", text: when }),
      node("span", { class: "lift", text: fmtSignedPercent(slot.expected_relative_reach - 1) }),
      node("span", { class: "sub", text: [range, observed].filter(Boolean).join(" · ") }),
    ]);
  }));
  if (slots.length) {
    message.textContent = `Expected views in 24 hours against your average post. Times in ${best.time_zone}.`;
    message.dataset.status = best.status;
  } else {
    const status = best.status === "available" ? "not_enough_data" : best.status;
    const lead = status === "not_enough_data" ? "Not enough data yet" : "Not available yet";
    message.textContent = best.reason ? `${lead}: ${best.reason}.`.replace(/\.\.$/, ".") : `${lead}.`;
    message.dataset.status = status;
  }
  message.hidden = false;
}

// -- heatmap -------------------------------------------------------------------------------------------------------
function drawHeatmap(heatmap) {
  const values = heatmap.cells.map((c) => c.mean_views_24h_per_subscriber).filter((v) => v !== null);
  const top = Math.max(0, ...values);
  const grid = [node("div", { class: "corner" })];
  for (let hour = 0; hour < 24; hour++) {
    grid.push(node("div", { class: "hour", text: hour % 6 === 0 ? String(hour) : "" }));
  }
  const byKey = new Map(heatmap.cells.map((c) => [`${c.weekday}:${c.hour}`, c]));
  for (let weekday = 0; weekday < 7; weekday++) {
    grid.push(node("div", { class: "day", text: WEEKDAYS[weekday] }));
    for (let hour = 0; hour < 24; hour++) {
      const cell = byKey.get(`${weekday}:${hour}`);
      if (!cell) {
        grid.push(node("div", { class: "gap" }));
        continue;
      }
      const value = cell.mean_views_24h_per_subscriber;
      const el = node("div", {
        class: value === null ? "cell empty" : "cell", role: "gridcell",
        "data-weekday": cell.weekday, "data-hour": cell.hour, "data-posts": cell.posts,
        "data-value": value === null ? "" : value,
        title: `${WEEKDAYS[weekday]} ${hourLabel(hour)}: ${cell.posts} ${cell.posts === 1 ? "post" : "posts"}` +
          (value === null ? "" : `, ${value.toFixed(2)} views in 24 h per subscriber`),
      });
      // A floor keeps the weakest hour with posts distinguishable from an hour without any.
      if (value !== null) el.style.opacity = String(top > 0 ? 0.15 + 0.85 * (value / top) : 0.15);
      grid.push(el);
    }
  }
  $("heatmap").replaceChildren(...grid);
  $("heatmap-legend").textContent = values.length
    ? `Hours in ${heatmap.time_zone}. Darker: more views in 24 hours per subscriber; blank: no posts.`
    : `No posts with views yet. Hours in ${heatmap.time_zone}.`;
}

// -- posts --------------------------------------------------------------------------------------------------------
function postRow(post) {
  const type = (post.content_type || "post") + (post.is_forward ? " ↪" : "");
  const row = node("tr", {
    "data-message-id": post.message_id, "data-views-24h": post.views_24h ?? "", tabindex: 0,
    "aria-expanded": "false",
  }, [
    node("td", { text: fmtLocalTime(post.posted_at_local) }),
    node("td", { class: "type", text: type }),
    node("td", { class: "num", text: fmtInt(post.views_1h) }),
    node("td", { class: "num strong", text: fmtInt(post.views_24h) }),
    node("td", { class: "num", text: fmtInt(post.views_48h) }),
    node("td", { class: "num", text: fmtPercent(post.er) }),
  ]);
  const toggle = () => togglePost(row, post);
  row.addEventListener("click", toggle);
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      toggle();
    }
  });
  return row;
}

function openLink(url) {
  if (launch.tg && typeof launch.tg.openTelegramLink === "function") launch.tg.openTelegramLink(url);
  else window.open(url, "_blank", "noopener");
}

async function togglePost(row, post) {
  const open = row.nextElementSibling?.dataset.detailFor === String(post.message_id);
  if (open) {
    row.nextElementSibling.remove();
    row.setAttribute("aria-expanded", "false");
    return;
  }
  const cell = node("td", { colspan: 6, text: "Loading…" });
  row.after(node("tr", { class: "detail", "data-detail-for": post.message_id }, [cell]));
  row.setAttribute("aria-expanded", "true");
  try {
    const detail = await api(`/channels/${state.channelId}/posts/${post.message_id}`);
    const p = detail.post;
    const facts = `${fmtInt(p.views_latest)} views · ${fmtInt(p.forwards)} forwards · ` +
      `${fmtInt(p.reactions)} reactions · ${fmtInt(p.replies)} replies`;
    const chart = detail.decay.length
      ? lineChart({
        points: detail.decay.map((d) => ({ x: d.age_hours, y: d.views })),
        marks: [detail.decay[0], detail.decay[detail.decay.length - 1]].map((d) => ({ x: d.age_hours, text: `${d.age_hours} h` })),
        label: "Views by the post's age in hours",
      })
      : node("p", { class: "sub", text: "No view history for this post yet." });
    const link = p.link ? node("a", { href: p.link, target: "_blank", rel: "noopener", text: "Open in Telegram" }) : null;
    link?.addEventListener("click", (event) => {
      event.preventDefault();
      openLink(p.link);
    });
    cell.replaceChildren(node("p", { class: "sub", text: facts }),
      node("div", { class: "chart small", "data-testid": "decay-chart" }, [chart]), link);
  } catch (error) {
    cell.textContent = error instanceof ApiError ? `Could not load this post: ${error.detail}` : "Could not load this post.";
  }
}

function drawPosts(page, { append }) {
  const body = $("posts-table").tBodies[0];
  const rows = page.items.map(postRow);
  if (append) body.append(...rows);
  else body.replaceChildren(...rows);
  state.cursor = page.next_cursor;
  $("posts-more").hidden = !page.next_cursor;
  $("posts-empty").hidden = body.rows.length > 0;
}

const postsPath = (cursor) => `/channels/${state.channelId}/posts?sort=views_24h&order=desc&limit=${POSTS_PAGE}` +
  (cursor ? `&cursor=${encodeURIComponent(cursor)}` : "");

async function loadMorePosts() {
  const button = $("posts-more");
  const generation = state.generation;
  button.disabled = true;
  button.textContent = "Loading…";
  try {
    const page = await api(postsPath(state.cursor));
    if (generation === state.generation) drawPosts(page, { append: true });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return showError(error);
    $("posts-empty").hidden = false;
    $("posts-empty").textContent = "Could not load more posts. Try again.";
  } finally {
    button.disabled = false;
    button.textContent = "Load more";
  }
}

// -- one channel, all of it ---------------------------------------------------------------------------------------
async function showChannel(channelId) {
  const generation = ++state.generation;
  const channel = state.channels.find((c) => c.channel_id === channelId);
  state.channelId = channelId;
  setReady(false);
  document.body.classList.add("busy");
  const base = `/channels/${channelId}`;
  try {
    const [overview, page, heatmap, best, forecast] = await Promise.all([
      api(`${base}/overview?days=30`),
      api(postsPath(null)),
      api(`${base}/heatmap`),
      api(`${base}/best-times`),
      // The forecast only adds a band to the chart: without it the page is still whole.
      api(`${base}/forecast`).catch(() => null),
    ]);
    if (generation !== state.generation) return; // another channel was picked meanwhile
    drawChannelMeta(channel, overview);
    drawCards(overview, channel);
    drawGrowth(overview, forecast);
    drawBestTimes(best);
    drawHeatmap(heatmap);
    drawPosts(page, { append: false });
    try {
      localStorage.setItem(CHANNEL_KEY, String(channelId));
    } catch {
      // storage may be disabled in the webview; remembering the channel is a nicety
    }
    $("loading").hidden = true;
    $("message").hidden = true;
    $("dashboard").hidden = false;
    delete document.body.dataset.error;
    document.body.dataset.channelId = String(channelId);
    document.body.classList.remove("busy");
    setReady(true);
  } catch (error) {
    if (generation === state.generation) {
      document.body.classList.remove("busy");
      showError(error);
    }
  }
}

function fillPicker(channels, selected) {
  const picker = $("channel-picker");
  picker.replaceChildren(...channels.map((c) => node("option", {
    value: c.channel_id, selected: c.channel_id === selected, text: c.title,
  })));
  picker.value = String(selected);
  picker.closest("label").hidden = false;
}

function rememberedChannel(channels) {
  let saved = null;
  try {
    saved = Number(localStorage.getItem(CHANNEL_KEY));
  } catch {
    saved = null;
  }
  return channels.some((c) => c.channel_id === saved) ? saved : channels[0].channel_id;
}

async function start() {
  $("message").hidden = true;
  $("loading").hidden = false;
  setReady(false);
  if (!state.initData) {
    showMessage(...MESSAGES[401], { code: "unauthorized" });
    return;
  }
  try {
    const me = await api("/me/channels");
    state.channels = me.channels;
    if (!me.channels.length) {
      showMessage("No channels yet", "Add your channel in the bot first: its numbers appear here the next day.",
        { code: "no_channels" });
      return;
    }
    const selected = rememberedChannel(me.channels);
    fillPicker(me.channels, selected);
    await showChannel(selected);
  } catch (error) {
    showError(error);
  }
}

applyTheme(launch.theme);
if (launch.tg) {
  launch.tg.ready?.();
  launch.tg.expand?.();
  launch.tg.onEvent?.("themeChanged", () => applyTheme(launch.tg.themeParams || {}));
}
$("channel-picker").addEventListener("change", (event) => showChannel(Number(event.target.value)));
$("posts-more").addEventListener("click", loadMorePosts);
$("message-retry").addEventListener("click", () => (state.channels.length ? showChannel(state.channelId) : start()));
start();
