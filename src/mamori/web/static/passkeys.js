// Passkeys in the browser: ask the server for options, hand them to the browser's own
// WebAuthn (navigator.credentials), and send what it returns back in the form. Every
// check of the answer happens on the server (py_webauthn); this file only carries it.
(() => {
  const toBytes = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "===".slice((base64.length + 3) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };
  const toText = (buffer) =>
    btoa(String.fromCharCode(...new Uint8Array(buffer)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

  // Browsers without parse…FromJSON(): the base64url fields become bytes by hand.
  const creationOptions = (json) => {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: toBytes(json.challenge),
      user: { ...json.user, id: toBytes(json.user.id) },
      excludeCredentials: (json.excludeCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  };
  const requestOptions = (json) => {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    }
    return {
      ...json,
      challenge: toBytes(json.challenge),
      allowCredentials: (json.allowCredentials || []).map((c) => ({ ...c, id: toBytes(c.id) })),
    };
  };
  const credentialJSON = (credential) => {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    const r = credential.response;
    const response = { clientDataJSON: toText(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = toText(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = toText(r.authenticatorData);
      response.signature = toText(r.signature);
      if (r.userHandle) response.userHandle = toText(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  };

  const options = async (form) => {
    const body = new URLSearchParams({ csrf_token: form.elements.csrf_token.value });
    const answer = await fetch(form.dataset.options, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!answer.ok) throw new Error("options " + answer.status);
    return answer.json();
  };

  const say = (form, text) => {
    const message = form.querySelector("[data-passkey-message]");
    if (!message) return;
    message.textContent = text;
    message.hidden = false;
  };

  const send = (form, credential) => {
    form.elements.credential.value = JSON.stringify(credentialJSON(credential));
    form.submit();
  };

  // The autofill's request under way: the button stops it, and waits for it to end
  // (a browser takes one request at a time) before asking anew.
  let conditional = null;
  let conditionalDone = Promise.resolve();

  const ceremony = async (form) => {
    if (!window.PublicKeyCredential) {
      say(form, form.dataset.unsupported);
      return;
    }
    if (conditional) {
      conditional.abort();
      conditional = null;
      await conditionalDone;
    }
    try {
      const json = await options(form);
      const credential = form.dataset.passkey === "create"
        ? await navigator.credentials.create({ publicKey: creationOptions(json) })
        : await navigator.credentials.get({ publicKey: requestOptions(json) });
      if (credential) send(form, credential);
    } catch (error) {
      say(form, form.dataset.failed);
    }
  };

  // Passkeys offered in the username field's autofill (conditional mediation). The
  // request counts as under way from the first line, so that a tap on the button while the
  // browser is still answering "is autofill available?" stops it too.
  const autofill = async (form) => {
    const controller = new AbortController();
    conditional = controller;
    let finished;
    conditionalDone = new Promise((resolve) => { finished = resolve; });
    try {
      if (!window.PublicKeyCredential || !PublicKeyCredential.isConditionalMediationAvailable) return;
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
      if (controller.signal.aborted) return;
      const json = await options(form);
      if (controller.signal.aborted) return;
      const credential = await navigator.credentials.get({
        publicKey: requestOptions(json),
        mediation: "conditional",
        signal: controller.signal,
      });
      if (credential && !controller.signal.aborted) send(form, credential);
    } catch (error) {
      // Aborted for the button, or dismissed: the password form is still there.
    } finally {
      if (conditional === controller) conditional = null;
      finished();
    }
  };

  for (const form of document.querySelectorAll("form[data-passkey]")) {
    const start = form.querySelector("[data-passkey-start]");
    if (start) {
      // The button comes disabled: until this file has run, a tap would do nothing.
      start.addEventListener("click", () => ceremony(form));
      start.disabled = false;
      if (start.hasAttribute("autofocus")) start.focus();
    }
    if (form.dataset.autofill === "on") autofill(form);
  }
})();
