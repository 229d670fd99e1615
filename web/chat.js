// moxing chat page: a small client of the OpenAI-compatible API of the server that serves it.
// Plain script, no framework or build step. Message text is always set with textContent, so
// whatever a model (or a user) writes is shown as text and never parsed as HTML.
'use strict';

(() => {
  const STORE_CHAT = 'moxing.chat.v1';
  const STORE_SETTINGS = 'moxing.settings.v1';

  // Numeric settings and the request field each one fills; empty means the server's default.
  const NUMBER_FIELDS = ['temperature', 'top_p', 'top_k', 'min_p', 'max_tokens', 'repeat_penalty'];

  // finish_reason as the server names it (plus the page's own cases), in words.
  const FINISH_TEXT = {
    stop: 'end of reply',
    length: 'cut at the token limit (max tokens or context)',
    repetition: 'stopped: the loop guard saw repetition',
    aborted: 'stopped',
    interrupted: 'interrupted',
  };
  const WHO = { user: 'You', assistant: 'Assistant', error: 'Error' };

  const $ = (id) => document.getElementById(id);
  const ui = {
    messages: $('messages'), scroller: document.querySelector('main'), hint: $('empty-hint'),
    composer: $('composer'), prompt: $('prompt'), send: $('send'), stop: $('stop'),
    newChat: $('new-chat'), model: $('model-name'), settings: $('settings'),
  };

  // ---- storage: a failing localStorage (private mode, quota) must not break the page ----
  function load(key, fallback) {
    try {
      const value = JSON.parse(localStorage.getItem(key));
      return value !== null && typeof value === typeof fallback ? value : fallback;
    } catch {
      return fallback;
    }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* keep working unsaved */ }
  }

  // Messages: {role: 'user'|'assistant'|'error', content, finish?}. Errors are shown but never sent.
  let messages = load(STORE_CHAT, []);
  if (!Array.isArray(messages)) messages = [];
  messages = messages.filter((m) => m && WHO[m.role] && typeof m.content === 'string' &&
                                    !(m.role === 'assistant' && m.content === ''));
  // A reply without a finish reason was still streaming when the page went away.
  for (const m of messages) if (m.role === 'assistant' && !m.finish) m.finish = 'interrupted';
  const settings = load(STORE_SETTINGS, {});
  const saveChat = () => save(STORE_CHAT, messages);

  let controller = null;  // AbortController of the reply streaming now, null when idle
  let modelId = '';

  // ---- rendering ----
  function messageElement(m) {
    const div = document.createElement('div');
    div.className = `message ${m.role}`;
    const who = document.createElement('div');
    who.className = 'who';
    who.textContent = WHO[m.role];
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = m.content;
    const meta = document.createElement('div');
    meta.className = 'meta';
    div.append(who, text, meta);
    showFinish(div, m.finish);
    return div;
  }

  function showFinish(div, finish) {
    if (!finish) return;
    div.dataset.finish = finish;
    div.querySelector('.meta').textContent = FINISH_TEXT[finish] || finish;
  }

  // Follow the end of the conversation only if the reader is already there, so scrolling up
  // to read an earlier message is not undone by every streamed token.
  function nearEnd() {
    const s = ui.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  }
  function scrollToEnd() { ui.scroller.scrollTop = ui.scroller.scrollHeight; }

  function append(m) {
    const div = messageElement(m);
    ui.messages.append(div);
    ui.hint.hidden = true;
    scrollToEnd();
    return div;
  }

  function renderAll() {
    ui.messages.replaceChildren(...messages.map(messageElement));
    ui.hint.hidden = messages.length > 0;
    scrollToEnd();
  }

  function setBusy(busy) {
    document.body.dataset.state = busy ? 'streaming' : 'idle';
    ui.send.disabled = busy;
    ui.stop.disabled = !busy;
    ui.messages.setAttribute('aria-busy', String(busy));
  }

  // ---- HTTP ----
  function headers(extra = {}) {
    const key = (settings.api_key || '').trim();
    return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
  }

  // The server's errors are {"error": {"message", "code"}}; anything else gets the HTTP status.
  async function apiError(res) {
    try {
      const body = await res.json();
      if (body && body.error && body.error.message) {
        return { message: `${body.error.message} (HTTP ${res.status})`, code: body.error.code };
      }
    } catch { /* not JSON */ }
    return { message: `HTTP ${res.status} ${res.statusText}`.trim(), code: null };
  }

  async function loadModel() {
    clearTimeout(loadModel.retry);
    try {
      const res = await fetch('v1/models', { headers: headers() });
      if (!res.ok) {
        const error = await apiError(res);
        // The server listens while the model still loads: ask again until it is ready.
        if (res.status === 503 && error.code === 'model_loading') {
          ui.model.textContent = 'loading\u2026';
          loadModel.retry = setTimeout(loadModel, 1000);
          return;
        }
        if (res.status === 401) ui.settings.open = true;  // the API key field is in there
        throw new Error(error.message);
      }
      const body = await res.json();
      modelId = (body.data && body.data[0] && body.data[0].id) || '';
      ui.model.textContent = modelId || 'unknown';
      ui.model.title = '';
    } catch (e) {
      modelId = '';
      ui.model.textContent = 'unavailable';
      ui.model.title = e.message;
    }
  }

  function requestBody() {
    const history = messages
      .filter((m) => (m.role === 'user' || m.role === 'assistant') && m.content !== '')
      .map(({ role, content }) => ({ role, content }));
    if ((settings.system || '').trim()) history.unshift({ role: 'system', content: settings.system });
    const body = { messages: history, stream: true };
    if (modelId) body.model = modelId;
    // Only what the user set; the server checks ranges and says what is wrong.
    for (const key of NUMBER_FIELDS) {
      if (settings[key] === undefined || settings[key] === '') continue;
      const n = Number(settings[key]);
      if (Number.isFinite(n)) body[key] = n;
    }
    return body;
  }

  // Server-sent events: "data: JSON" lines, a blank line ends an event, ":" lines are pings.
  // TextDecoder with stream: true keeps a UTF-8 character split across reads intact, and a
  // partial line waits in `pending` for the rest. onText runs once per network read.
  async function readEvents(res, onText, onFinish) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let pending = '';
    let data = [];
    let finished = false;
    const dispatch = () => {
      const payload = data.join('\n');
      data = [];
      if (payload === '[DONE]') { finished = true; return ''; }
      const chunk = JSON.parse(payload);
      if (chunk.error) throw new Error(chunk.error.message || 'error in the stream');
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return '';  // e.g. the usage chunk
      if (choice.finish_reason) onFinish(choice.finish_reason);
      return (choice.delta && choice.delta.content) || '';
    };
    for (;;) {
      const { value, done } = await reader.read();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      const lines = pending.split('\n');
      pending = done ? '' : lines.pop();
      let text = '';
      for (let line of lines) {
        if (line.endsWith('\r')) line = line.slice(0, -1);
        if (line === '') {
          if (data.length && !finished) text += dispatch();
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }  // ":" comments and other fields (event, id, retry) are not used by this API
      }
      if (done && data.length && !finished) text += dispatch();
      if (text) onText(text);
      if (done) return finished;
    }
  }

  // ---- sending ----
  async function send() {
    const content = ui.prompt.value;
    if (controller || !content.trim()) return;
    ui.prompt.value = '';
    const user = { role: 'user', content };
    const reply = { role: 'assistant', content: '' };
    messages.push(user, reply);
    append(user);
    const replyDiv = append(reply);
    const replyText = replyDiv.querySelector('.text');
    const mine = messages;  // "New chat" during the reply replaces the array
    saveChat();

    controller = new AbortController();
    setBusy(true);
    try {
      const res = await fetch('v1/chat/completions', {
        method: 'POST',
        headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
        body: JSON.stringify(requestBody()),
        signal: controller.signal,
      });
      if (!res.ok) throw new Error((await apiError(res)).message);
      const complete = await readEvents(res, (text) => {
        const follow = nearEnd();
        reply.content += text;
        replyText.textContent = reply.content;
        if (follow) scrollToEnd();
      }, (finish) => { reply.finish = finish; });
      if (!reply.finish) reply.finish = complete ? 'stop' : 'interrupted';
    } catch (e) {
      if (e.name === 'AbortError') {
        reply.finish = 'aborted';
      } else if (mine === messages) {
        reply.finish = 'interrupted';
        const error = { role: 'error', content: e.message || String(e) };
        messages.push(error);
        append(error).setAttribute('role', 'alert');
      }
    } finally {
      controller = null;
      setBusy(false);
      // An empty reply (an error before any text, or stopped at once) is dropped.
      if (reply.content === '') {
        replyDiv.remove();
        const i = mine.indexOf(reply);
        if (i >= 0) mine.splice(i, 1);
      } else {
        showFinish(replyDiv, reply.finish);
      }
      saveChat();
    }
  }

  function stop() { if (controller) controller.abort(); }

  function newChat() {
    stop();
    messages = [];
    saveChat();
    renderAll();
    ui.prompt.focus();
  }

  // ---- wiring ----
  for (const input of document.querySelectorAll('[data-setting]')) {
    const key = input.dataset.setting;
    input.value = settings[key] !== undefined ? settings[key] : '';
    input.addEventListener('input', () => {
      if (input.value === '') delete settings[key];
      else settings[key] = input.value;
      save(STORE_SETTINGS, settings);
    });
    if (key === 'api_key') input.addEventListener('change', loadModel);
  }

  ui.composer.addEventListener('submit', (e) => { e.preventDefault(); send(); });
  ui.prompt.addEventListener('keydown', (e) => {
    // Enter sends, Shift+Enter is a new line; not while an input method is composing.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    }
  });
  ui.stop.addEventListener('click', stop);
  ui.newChat.addEventListener('click', newChat);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape' && controller) stop(); });
  // Keep a reply that is still streaming when the page goes away (it shows as interrupted).
  window.addEventListener('pagehide', saveChat);

  setBusy(false);
  renderAll();
  loadModel();
  ui.prompt.focus();
})();
