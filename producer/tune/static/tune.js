// producer tune: the listening page. Talks only to the JSON API of the server that served it.
"use strict";

const $ = (id) => document.getElementById(id);
let pair = null;
let busy = false;

function setStatus(text, isError) {
  $("status").textContent = text;
  $("status").className = isError ? "error" : "";
}

async function api(method, path, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["Content-Type"] = "application/json";
  }
  const response = await fetch(path, options);
  const data = await response.json();
  if (!response.ok) {
    const error = new Error(data.error || response.statusText);
    error.status = response.status;
    throw error;
  }
  return data;
}

function watchLoad(player, label) {
  label.textContent = "loading";
  label.className = "loaded";
  player.onloadeddata = () => { label.textContent = "ready"; label.className = "loaded ok"; player.dataset.loaded = "1"; };
  player.onerror = () => { label.textContent = "failed to load"; label.className = "loaded"; };
}

function showPair(next) {
  pair = next;
  const buttons = document.querySelectorAll(".answers button");
  if (!next) {
    $("pair-id").textContent = "";
    $("player-a").removeAttribute("src");
    $("player-b").removeAttribute("src");
    buttons.forEach((b) => { b.disabled = true; });
    return;
  }
  $("pair-id").textContent = `(${next.pair}, ${next.number} of ${next.budget})`;
  for (const side of ["a", "b"]) {
    const player = $(`player-${side}`);
    player.dataset.loaded = "";
    player.dataset.version = next[side].id;
    watchLoad(player, $(`loaded-${side}`));
    player.src = next[side].audio;
    player.load();
  }
  buttons.forEach((b) => { b.disabled = false; });
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

function fmt(value) {
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

function showState(state) {
  $("progress").textContent = `${state.answers} of ${state.budget} answers · ${state.versions} versions heard`;
  const fav = state.favourite;
  if ($("favourite").textContent !== fav.id) {
    $("favourite").textContent = fav.id;
    $("favourite-player").src = fav.audio;
  }
  const c = state.certainty;
  $("certainty").textContent = c.p_best === undefined
    ? "No answer yet: the favourite is the project as it came."
    : `P(favourite is the best heard) = ${(100 * c.p_best).toFixed(0)} %, utility sd ${c.sd} ` +
      `(model: length-scale ${c.lengthscale}, noise ${c.noise}).`;
  const units = Object.fromEntries(state.knobs.map((k) => [k.name, k.unit]));
  const values = $("favourite-values").tBodies[0];
  values.replaceChildren();
  for (const [name, value] of Object.entries(fav.values)) {
    const row = values.insertRow();
    const start = fav.start_values[name];
    if (start !== value) row.className = "changed";
    cell(row, name);
    cell(row, `${fmt(start)} ${units[name] || ""}`, "num");
    cell(row, `${fmt(value)} ${units[name] || ""}`, "num");
  }
  const ranking = $("ranking").tBodies[0];
  ranking.replaceChildren();
  for (const r of state.ranking) {
    const row = ranking.insertRow();
    cell(row, r.id); cell(row, r.mean, "num"); cell(row, r.sd, "num"); cell(row, `${(100 * r.p_best).toFixed(0)} %`, "num");
  }
  const history = $("history").tBodies[0];
  history.replaceChildren();
  for (const h of state.history.slice().reverse()) {
    const row = history.insertRow();
    cell(row, h.pair); cell(row, h.a); cell(row, h.b); cell(row, h.choice); cell(row, h.rating ?? ""); cell(row, h.favourite);
  }
  if (state.saved.length) $("saved").textContent = `saved to ${state.saved[state.saved.length - 1]}`;
  if (state.done) setStatus("The budget of answers is spent: save the favourite, or resume with a larger --budget.");
}

async function answer(choice) {
  if (!pair || busy) return;
  busy = true;
  document.querySelectorAll(".answers button").forEach((b) => { b.disabled = true; });
  setStatus("thinking…");
  const body = { pair: pair.pair, choice };
  const rating = $("rating").value;
  if (rating) body.rating = Number(rating);
  try {
    const result = await api("POST", "/api/answer", body);
    $("rating").value = "";
    showState(result.state);
    showPair(result.next);
    if (result.next) setStatus(`answered ${body.pair}: ${choice}`);
  } catch (error) {
    setStatus(error.message, true);
    showPair(pair);
  } finally {
    busy = false;
  }
}

async function save() {
  $("save").disabled = true;
  setStatus("saving the favourite (rendering the whole project)…");
  try {
    const result = await api("POST", "/api/save", {});
    $("saved").textContent = `saved ${result.favourite} to ${result.saved}`;
    setStatus("saved");
  } catch (error) {
    setStatus(error.message, true);
  } finally {
    $("save").disabled = false;
  }
}

async function start() {
  document.querySelectorAll(".answers button").forEach((b) => {
    b.addEventListener("click", () => answer(b.dataset.choice));
  });
  $("save").addEventListener("click", save);
  document.addEventListener("keydown", (event) => {
    if (event.target.tagName === "SELECT") return;
    const key = { a: "a", b: "b", f: "both", n: "neither" }[event.key];
    if (key) answer(key);
  });
  try {
    showState(await api("GET", "/api/state"));
    try {
      showPair(await api("GET", "/api/pair"));
    } catch (error) {
      if (error.status !== 409) throw error;
      showPair(null);
    }
  } catch (error) {
    setStatus(error.message, true);
  }
}

start();
