// colorseason web page: photos -> async job -> long-poll status -> result card.
// Plain JS, no build step. It calls the function URLs from /config.json like any HTTP client.
// The user gathers up to PHOTO_LIMIT photos of themself (thumbnails, each removable), then starts
// one job for all of them: one diagnosis, with how far the photos agree and each one's family.
// Photos stay in memory (Blobs): they are never stored by this page. They are kept while their
// result is shown, for its thumbnails and, for a single photo, to draw the faces on it and to
// analyse another of them on a tap (with several photos the boxes are not drawn: the result's
// faces are those of the photo that weighed most, and it does not say which one that was).
"use strict";

const POLL_MS = 500; // the polling contract, for a status that does not hold requests
const LONG_POLL_S = 25; // status holds a request until the job changes, at most this long
const POLL_LIMIT_MS = 180000;
// Transient trouble (a 5xx, a 429, no network): wait longer each time, up to the last step.
const RETRY_MS = [500, 1000, 2000, 4000, 8000];
const PHOTO_LIMIT = 5; // colorseason.analysis.person.MAX_PHOTOS (tests/test_browser.py checks)

// Words of this page only; the report's words (families, palette, advice...) come from
// /i18n.json, which `colorseason up` builds from colorseason.i18n.
const UI = {
  en: {
    lead: "Take a photo of your face in daylight, or choose one, to find your colour season.",
    camera: "Use camera",
    shoot: "Take photo",
    pick: "Choose photos",
    several: "Add up to five photos of yourself, taken in different places and light: they are diagnosed together, and the result says how far they agree.",
    start: "Find my season",
    remove: "Remove photo {number}",
    count: "{count} of {limit} photos",
    full: "That is five photos: remove one to add another.",
    privacy: "Your photo is analysed in memory and never stored; only the diagnosis is kept, and you can delete it.",
    queued: "Waiting for the analyser…",
    processing: "Analysing your colours…",
    uploading: "Uploading…",
    fetching: "Preparing your result…",
    reconnecting: "Reconnecting…",
    season: "Your season",
    runner_up: "Runner-up",
    confidence: "confidence",
    undertone: "undertone",
    delete: "Delete my result",
    deleted: "Your result was deleted.",
    again: "Analyse another photo",
    camera_denied: "The camera is not available; choose a photo instead.",
    timeout: "The analysis is taking too long. Please try again.",
    network: "Could not reach the service. Is `colorseason up` running?",
    failed: "The analysis failed.",
  },
  ko: {
    lead: "밝은 자연광에서 얼굴 사진을 찍거나 골라 퍼스널 컬러를 알아보세요.",
    camera: "카메라 사용",
    shoot: "사진 찍기",
    pick: "사진 선택",
    several: "다른 장소와 조명에서 찍은 내 사진을 다섯 장까지 추가하세요. 함께 진단하고, 사진들이 얼마나 일치하는지 알려 드립니다.",
    start: "진단 시작",
    remove: "{number}번째 사진 빼기",
    count: "사진 {count}/{limit}장",
    full: "다섯 장이 다 찼습니다. 하나를 빼고 추가해 주세요.",
    privacy: "사진은 메모리에서만 분석되고 저장되지 않습니다. 진단 결과만 보관되며 직접 삭제할 수 있습니다.",
    queued: "분석을 기다리는 중…",
    processing: "컬러를 분석하는 중…",
    uploading: "업로드 중…",
    fetching: "결과를 준비하는 중…",
    reconnecting: "다시 연결하는 중…",
    season: "나의 퍼스널 컬러",
    runner_up: "차선 시즌",
    confidence: "신뢰도",
    undertone: "언더톤",
    delete: "결과 삭제",
    deleted: "결과를 삭제했습니다.",
    again: "다른 사진 분석",
    camera_denied: "카메라를 사용할 수 없습니다. 사진을 선택해 주세요.",
    timeout: "분석이 너무 오래 걸립니다. 다시 시도해 주세요.",
    network: "서비스에 연결할 수 없습니다. `colorseason up`이 실행 중인지 확인해 주세요.",
    failed: "분석에 실패했습니다.",
  },
};

const $ = (id) => document.getElementById(id);
const state = {
  lang: localStorage.getItem("colorseason.lang") || (navigator.language.startsWith("ko") ? "ko" : "en"),
  config: null,
  words: null,
  stream: null,
  result: null,
  resultUrl: null,
  tray: [], // the photos gathered for the next job: {blob, url}
  job: [], // the photos of the job shown: {blob, url}, in the order of the result's photos
  trayNote: null,
  run: 0, // bumps on every new photo, so a stale poll loop stops by itself
  statusKey: null,
  error: null,
};

function t(key) {
  return UI[state.lang][key] ?? state.words?.text?.[key]?.[state.lang] ?? UI.en[key] ?? key;
}

function words(table, key) {
  const entry = state.words?.[table]?.[key];
  return entry?.[state.lang] ?? entry?.en ?? key;
}

function show(section) {
  for (const id of ["capture", "progress", "result", "error"]) $(id).hidden = id !== section;
}

// --- language --------------------------------------------------------------------------------

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const button of document.querySelectorAll(".lang button")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
  }
  if (state.statusKey) $("state").textContent = t(state.statusKey);
  renderTray();
  if (state.result) renderResult(state.result);
  if (state.error) $("error-text").textContent = errorText(state.error);
}

function setLanguage(lang) {
  state.lang = lang;
  localStorage.setItem("colorseason.lang", lang);
  applyLanguage();
}

// --- capture ---------------------------------------------------------------------------------

async function startCamera() {
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 1920 }, height: { ideal: 1440 } },
      audio: false,
    });
  } catch {
    $("camera").hidden = true;
    fail({ key: "camera_denied" }, false);
    return;
  }
  $("video").srcObject = state.stream;
  document.querySelector(".viewfinder").hidden = false;
  $("camera").hidden = true;
  $("shoot").hidden = false;
}

function stopCamera() {
  state.stream?.getTracks().forEach((track) => track.stop());
  state.stream = null;
  $("video").srcObject = null;
  document.querySelector(".viewfinder").hidden = true;
  $("shoot").hidden = true;
  $("camera").hidden = !navigator.mediaDevices?.getUserMedia;
}

function shoot() {
  const video = $("video");
  const canvas = document.createElement("canvas");
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext("2d").drawImage(video, 0, 0);
  canvas.toBlob((blob) => blob && addPhotos([blob]), "image/jpeg", 0.92);
  stopCamera();
}

// --- the tray: photos gathered before a job starts -------------------------------------------

function addPhotos(blobs) {
  const room = PHOTO_LIMIT - state.tray.length;
  for (const blob of blobs.slice(0, room)) state.tray.push({ blob, url: URL.createObjectURL(blob) });
  state.trayNote = blobs.length > room ? "full" : null;
  renderTray();
}

function removePhoto(index) {
  release(state.tray.splice(index, 1));
  state.trayNote = null;
  renderTray();
}

function release(photos) {
  for (const photo of photos) URL.revokeObjectURL(photo.url);
}

function renderTray() {
  const items = state.tray.map((photo, index) => {
    const li = document.createElement("li");
    const img = document.createElement("img");
    img.src = photo.url;
    img.alt = "";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "remove";
    remove.textContent = "×";
    remove.setAttribute("aria-label", fill(t("remove"), { number: index + 1 }));
    remove.addEventListener("click", () => removePhoto(index));
    li.append(img, remove);
    return li;
  });
  $("tray").replaceChildren(...items);
  $("tray").hidden = !items.length;
  $("start").disabled = !items.length;
  const count = items.length ? fill(t("count"), { count: items.length, limit: PHOTO_LIMIT }) : "";
  $("tray-count").textContent = state.trayNote ? `${count} · ${t(state.trayNote)}` : count;
}

function startJob() {
  if (!state.tray.length) return;
  release(state.job);
  const photos = state.tray;
  state.tray = [];
  state.trayNote = null;
  renderTray();
  submit(photos);
}

// --- job -------------------------------------------------------------------------------------

// One job for all the photos (one person); the scan sweeps over all of them until it ends.
async function submit(photos, face = null) {
  const run = ++state.run;
  state.job = photos;
  state.result = null;
  state.error = null;
  const previews = photos.map((photo) => {
    const img = document.createElement("img");
    img.src = photo.url;
    img.alt = "";
    return img;
  });
  $("previews").replaceChildren(...previews);
  $("previews").dataset.count = String(photos.length);
  setStatus("uploading");
  show("progress");

  const form = new FormData();
  photos.forEach((photo, index) => form.append("image", photo.blob, `photo${index + 1}.jpg`));
  let ticket = null;
  // A 503 from POST /jobs left nothing behind (no photo, no job), so sending again is safe.
  for (let attempt = 0; !ticket; attempt++) {
    const response = await send(jobsUrl(face), { method: "POST", body: form });
    if (run !== state.run) return;
    if (response?.status === 202) ticket = await response.json();
    else if (response && !transient(response.status)) return fail(await problem(response));
    else if (attempt + 1 >= RETRY_MS.length) return fail(response ? await problem(response) : { key: "network" });
    else await reconnect(attempt, "uploading");
  }
  form.delete("image"); // drop the form's references to the photos as soon as they are uploaded
  state.resultUrl = ticket.result_url;
  setStatus("queued");
  await poll(ticket, run);
}

// Long-poll: with the job's ETag in If-None-Match and Prefer: wait, status answers as soon as
// the job changes (or 304 after LONG_POLL_S). A status that does not hold requests (no
// Preference-Applied) is polled every POLL_MS instead.
async function poll(ticket, run) {
  const started = Date.now();
  let etag = null;
  let failures = 0;
  let phase = "queued";
  while (run === state.run) {
    if (Date.now() - started > POLL_LIMIT_MS) return fail({ key: "timeout" });
    const headers = { Prefer: `wait=${LONG_POLL_S}` };
    if (etag) headers["If-None-Match"] = etag;
    const response = await send(ticket.status_url, { cache: "no-store", headers });
    if (run !== state.run) return;
    if (response?.ok || response?.status === 304) {
      failures = 0;
      const held = response.headers.has("Preference-Applied");
      if (response.status !== 304) {
        const job = await response.json();
        if (run !== state.run) return;
        etag = response.headers.get("ETag");
        if (job.state === "completed") return fetchResult(job.result_url || ticket.result_url, run, started);
        if (job.state === "failed") return fail(job.error || { key: "failed" });
        phase = job.state === "processing" ? "processing" : "queued";
        setStatus(phase);
      }
      if (!held) await sleep(POLL_MS);
    } else if (response && response.status !== 404 && !transient(response.status)) {
      return fail(await problem(response));
    } else {
      // A 404 cannot follow the 202 (analyze writes the job first), but is waited out too.
      await reconnect(failures++, phase);
    }
  }
}

// completed means stored: the row is there. Only transient trouble is retried here.
async function fetchResult(url, run, started) {
  setStatus("fetching");
  state.resultUrl = url;
  for (let failures = 0; run === state.run && Date.now() - started < POLL_LIMIT_MS; failures++) {
    const response = await send(url, { cache: "no-store" });
    if (run !== state.run) return;
    if (response?.ok) {
      const body = await response.json();
      if (run !== state.run) return;
      state.result = body.result ?? body;
      state.statusKey = null;
      renderResult(state.result);
      $("deleted").hidden = true;
      $("delete").disabled = false;
      show("result");
      return;
    }
    if (response && response.status !== 404 && !transient(response.status)) return fail(await problem(response));
    await reconnect(failures, "fetching");
  }
  if (run === state.run) fail({ key: "timeout" });
}

// fetch() that answers null for a network error instead of throwing.
async function send(url, options) {
  try {
    return await fetch(url, options);
  } catch {
    return null;
  }
}

function transient(status) {
  return status >= 500 || status === 429 || status === 408;
}

// Say "reconnecting…", wait the attempt's backoff, then show what we were doing again.
async function reconnect(attempt, resume) {
  setStatus("reconnecting");
  await sleep(RETRY_MS[Math.min(attempt, RETRY_MS.length - 1)]);
  if (resume) setStatus(resume);
}

async function deleteResult() {
  $("delete").disabled = true;
  try {
    const response = await fetch(state.resultUrl, { method: "DELETE" });
    if (response.status !== 204 && response.status !== 404) {
      $("delete").disabled = false;
      return fail(await problem(response));
    }
  } catch {
    $("delete").disabled = false;
    return fail({ key: "network" });
  }
  state.result = null;
  for (const id of ["measured", "palette", "quality", "shots"]) $(id).replaceChildren();
  for (const id of ["season-name", "season-meta", "runner-up", "disclaimer", "light", "agreement"]) {
    $(id).textContent = "";
  }
  $("faces").hidden = $("shots").hidden = $("agreement").hidden = true;
  $("deleted").hidden = false;
}

function reset() {
  state.run++;
  release(state.job);
  state.job = [];
  state.result = null;
  state.error = null;
  state.statusKey = null;
  $("file").value = "";
  show("capture");
}

// --- rendering -------------------------------------------------------------------------------

function setStatus(key) {
  state.statusKey = key;
  $("state").textContent = t(key);
}

function seasonName(season) {
  return season?.name?.[state.lang] ?? season?.name?.en ?? season?.id ?? "";
}

function percent(x) {
  return `${Math.round((x ?? 0) * 100)}%`;
}

// Stored results may come back with their keys reordered (PostgreSQL jsonb): show a fixed order.
const MEASURED_ORDER = ["skin", "eyes", "hair", "lips"];
const PALETTE_ORDER = ["best", "avoid", "lips", "blush", "hair", "metals"];

function inOrder(object, order) {
  const entries = Object.entries(object ?? {});
  const rank = (key) => (order.includes(key) ? order.indexOf(key) : order.length);
  return entries.sort(([a], [b]) => rank(a) - rank(b));
}

function swatch(hex, title) {
  const el = document.createElement("span");
  el.className = "swatch";
  el.style.backgroundColor = /^#[0-9a-f]{6}$/i.test(hex) ? hex : "transparent";
  el.title = title || hex;
  return el;
}

function renderResult(result) {
  $("season-name").textContent = seasonName(result.season);
  const family = words("families", result.season?.family);
  const undertone = words("undertones", result.undertone);
  $("season-meta").textContent =
    `${family} · ${t("undertone")}: ${undertone} · ${t("confidence")} ${percent(result.confidence)}`;
  const second = result.second_season;
  const secondP = second ? result.probabilities?.[second.id] : null;
  $("runner-up").textContent = second ? `${t("runner_up")}: ${seasonName(second)} (${percent(secondP)})` : "";

  const measured = inOrder(result.measurements, MEASURED_ORDER).map(([part, colour]) => {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = words("measurements", part);
    const hex = document.createElement("small");
    hex.textContent = colour?.hex ?? "";
    label.append(hex);
    li.append(swatch(colour?.hex, words("measurements", part)), label);
    return li;
  });
  $("measured").replaceChildren(...measured);

  const rows = [];
  for (const [key, values] of inOrder(result.palette, PALETTE_ORDER)) {
    const row = document.createElement("div");
    row.className = `row ${key}`;
    const label = document.createElement("span");
    label.className = "label";
    label.textContent = words("palette", key);
    const list = document.createElement("span");
    list.className = "swatches";
    if (key === "metals") {
      list.textContent = (values ?? []).map((metal) => words("metals", metal)).join(", ");
    } else {
      list.append(...(values ?? []).map((hex) => swatch(hex)));
    }
    row.append(label, list);
    rows.push(row);
  }
  $("palette").replaceChildren(...rows);

  const issues = result.quality?.issues ?? [];
  const advice = issues.map((issue) => {
    const li = document.createElement("li");
    li.textContent = state.words?.quality?.[issue.code]?.[state.lang] || issue.message;
    return li;
  });
  if (!advice.length) {
    const li = document.createElement("li");
    li.textContent = words("text", "no_issues");
    advice.push(li);
  }
  $("quality").replaceChildren(...advice);
  $("disclaimer").textContent = words("text", "disclaimer");
  $("light").textContent = lightSummary(result);
  renderShots(result);
  renderFaces(result);
}

// --- several photos: how far they agree, and each photo's own family --------------------------

function renderShots(result) {
  const shots = Array.isArray(result.photos) ? result.photos : [];
  const agreement = result.agreement;
  const several = shots.length > 0 && Number.isFinite(agreement?.photos);
  $("agreement").hidden = $("shots").hidden = !several;
  if (!several) return;
  const total = agreement.photos;
  const agree = Math.round((agreement.family_share ?? 0) * total);
  $("agreement").textContent = fill(t("agree"), { agree, total });
  const items = shots.map((shot, index) => {
    const li = document.createElement("li");
    const url = state.job[index]?.url;
    if (url) {
      const img = document.createElement("img");
      img.src = url;
      img.alt = "";
      li.append(img);
    }
    const name = document.createElement("strong");
    name.textContent = fill(t("photo_number"), { number: index + 1 });
    const text = document.createElement("span");
    if (!shot.ok) {
      li.className = "failed";
      text.textContent = errorText(shot.error ?? {});
    } else {
      const own = `${words("families", shot.season?.family)} · ${seasonName(shot.season)}`;
      li.className = shot.different_person ? "stranger" : "agreeing";
      text.textContent = shot.different_person ? `${own} · ${t("different_person")}` : own;
    }
    li.append(name, text);
    return li;
  });
  $("shots").replaceChildren(...items);
}

// --- faces: the boxes over the user's own photo; a tap analyses another face ------------------

function jobsUrl(face) {
  const url = `${state.config.analyze}/jobs`;
  return face === null ? url : `${url}?face=${encodeURIComponent(face)}`;
}

function fill(template, values) {
  return template.replace(/\{(\w+)\}/g, (match, key) => String(values[key] ?? match));
}

function renderFaces(result) {
  const faces = result.faces ?? {};
  const boxes = Array.isArray(faces.boxes) ? faces.boxes : [];
  const several = boxes.length > 1;
  // The photo is the one already in this page (a blob: URL), never fetched or uploaded again;
  // of several photos, the result does not say which one its faces are from.
  const photo = state.job.length === 1 ? state.job[0] : null;
  $("faces").hidden = !photo || !boxes.length;
  if ($("faces").hidden) return;
  $("faces-photo").src = photo.url;
  const buttons = boxes.map((box, number) => faceBox(box, number, number === faces.analysed, several));
  $("face-boxes").replaceChildren(...buttons.filter(Boolean));
  const which = fill(t("face_of"), { number: faces.analysed, count: boxes.length, last: boxes.length - 1 });
  $("faces-caption").textContent = several ? `${t("face")} ${which}. ${t("tap_face")}` : "";
}

function faceBox(box, number, analysed, choosable) {
  if (!Array.isArray(box) || box.length !== 4 || !box.every(Number.isFinite)) return null;
  const [x0, y0, x1, y1] = box.map((value) => Math.min(1, Math.max(0, value)));
  const button = document.createElement("button");
  button.type = "button";
  button.className = analysed ? "face-box analysed" : "face-box";
  button.setAttribute("aria-label", fill(t("face_number"), { number }));
  // Positioned through the CSSOM, which the page's CSP allows (it refuses style attributes).
  Object.assign(button.style, {
    left: `${x0 * 100}%`,
    top: `${y0 * 100}%`,
    width: `${(x1 - x0) * 100}%`,
    height: `${(y1 - y0) * 100}%`,
  });
  const label = document.createElement("span");
  label.textContent = String(number);
  button.append(label);
  if (analysed) button.setAttribute("aria-current", "true");
  button.disabled = analysed || !choosable;
  if (!button.disabled) button.addEventListener("click", () => analyseFace(number));
  return button;
}

function analyseFace(number) {
  if (state.job.length === 1) submit(state.job, number); // a new job for the same photo
}

function listed(items) {
  if (state.lang === "en" && items.length > 1) return `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
  return items.join(", ");
}

// The same sentence as colorseason.i18n.light_summary, from the same tables.
function lightSummary(result) {
  const skin = result.measurements?.skin ?? {};
  const illumination = result.illumination ?? {};
  const parts = [];
  const lightness = skin.lab?.[0];
  if (Number.isFinite(lightness) && Number.isFinite(skin.lightness_sd)) {
    parts.push(fill(t("skin_lightness"), { value: lightness.toFixed(0), sd: skin.lightness_sd.toFixed(0) }));
  }
  const anchors = illumination.exposure_anchors;
  if (Array.isArray(anchors)) {
    const names = anchors.map((anchor) => words("references", anchor));
    // Corrected, the camera's exposure is weighed against the usual skin lightness too.
    const camera = illumination.corrected ? "exposure_camera_skin" : "exposure_camera";
    parts.push(names.length ? fill(t("exposure_from"), { anchors: listed(names) }) : t(camera));
  }
  const clauses = parts.length ? [parts.join(", ")] : [];
  const reference = illumination.reference;
  if (state.words?.references?.[reference]) {
    clauses.push(fill(t("colour_from"), { reference: words("references", reference) }));
  } else if (reference === "none") {
    clauses.push(t("colour_uncorrected"));
  }
  return clauses.join("; ");
}

// --- errors ----------------------------------------------------------------------------------

async function problem(response) {
  try {
    const body = await response.json();
    return { code: body.code, message: body.detail || body.title || `HTTP ${response.status}` };
  } catch {
    return { message: `HTTP ${response.status}` };
  }
}

function errorText(error) {
  if (error.key) return t(error.key);
  return state.words?.errors?.[error.code]?.[state.lang] || error.message || t("failed");
}

function fail(error, stop = true) {
  if (stop) state.run++;
  state.error = error;
  state.statusKey = null;
  $("error-text").textContent = errorText(error);
  show("error");
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// --- start -----------------------------------------------------------------------------------

async function start() {
  for (const button of document.querySelectorAll(".lang button")) {
    button.addEventListener("click", () => setLanguage(button.dataset.lang));
  }
  $("camera").hidden = !navigator.mediaDevices?.getUserMedia;
  $("camera").addEventListener("click", startCamera);
  $("shoot").addEventListener("click", shoot);
  $("file").addEventListener("change", (event) => {
    addPhotos([...(event.target.files ?? [])]);
    event.target.value = ""; // the same file may be chosen again
  });
  $("start").addEventListener("click", startJob);
  $("delete").addEventListener("click", deleteResult);
  $("again").addEventListener("click", reset);
  $("retry").addEventListener("click", reset);
  applyLanguage();
  try {
    const [config, tables] = await Promise.all(
      ["config.json", "i18n.json"].map((path) => fetch(path, { cache: "no-store" }).then((r) => r.json())),
    );
    state.config = config;
    state.words = tables;
  } catch {
    fail({ key: "network" });
    return;
  }
  document.body.dataset.ready = "true";
  applyLanguage();
}

start();
