#!/usr/bin/env node
// An independent ActivityPub peer for the interop tests, built on Fedify 2.3.6.
//
// Usage:  node tests/interop/peer.mjs <command> [arguments] [--signed]
//
//   lookup <acct:user@host | user@host | URL>   look an actor up (WebFinger for handles)
//   object <URL>                                fetch and parse an object (our Page)
//   follow <acct:user@host | URL> [seconds]     send a signed Follow to that actor's inbox,
//              then wait (up to `seconds`, default 30) until our inbox holds, each with a
//              signature Fedify verified, an Accept of that Follow and a Create{Page}
//              (prints {"event": "followed", ...} on a line of its own once the Follow is sent)
//
//   accept-follow [seconds]                     wait (default 30) for a signed Follow of the
//              peer's actor, look the follower up with a signed GET and answer with a
//              signed Accept (prints {"event": "ready", "actor": ...} once listening)
//
//   sign-object <JSON>                          sign an object (AS2 JSON-LD) with a fresh
//              Ed25519 key: FEP-8b32 proof, eddsa-jcs-2022; prints the signed document and
//              the key as a Multikey (publicKeyMultibase)
//
//   --signed   sign every GET with the peer's own key (draft-cavage or RFC 9421, Fedify
//              chooses and double-knocks); the peer then serves its actor on loopback so
//              the server can fetch the key: http://127.0.0.1:<port>/actor#main-key
//   --authorized-fetch   the peer's actor document is served only to signed GETs that
//              Fedify verifies (as Mastodon's secure mode does); who signed is reported
//
// Output: one JSON line on stdout, {"ok": true, ...} (exit 0) or {"ok": false, "error"} (exit 1).
// Environment: NODE_EXTRA_CA_CERTS (the test server's self-signed certificate).
//
// Structure for new commands (follow, send, serve...): add a function to COMMANDS taking
// (args, peer) where `peer` is the running peer (its actor id, key, document loader and
// the activities its inbox received); everything runs offline with allowPrivateAddress.

import http from "node:http";

import {
  exportMultibaseKey,
  exportSpki,
  generateCryptoKeyPair,
  getAuthenticatedDocumentLoader,
  getDocumentLoader,
  signObject,
  signRequest,
  verifyRequest,
} from "@fedify/fedify";
import {
  Accept,
  Activity,
  Application,
  Create,
  CryptographicKey,
  Follow,
  Hashtag,
  Object as ApObject,
  Page,
  PropertyValue,
  lookupObject,
} from "@fedify/vocab";

const LOOKUP = { allowPrivateAddress: true };

/** Starts the peer: a key pair and a loopback HTTP server for its actor and inbox. */
async function startPeer({ authorizedFetch = false } = {}) {
  const { privateKey, publicKey } = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  const received = [];
  const actorFetches = [];
  const server = http.createServer(async (req, res) => {
    const base = `http://127.0.0.1:${server.address().port}`;
    if (req.method === "GET" && req.url === "/actor") {
      if (authorizedFetch) {
        const request = new Request(`${base}${req.url}`, {
          headers: Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
        });
        const key = await verifyRequest(request, {
          documentLoader: getDocumentLoader(LOOKUP),
        }).catch(() => null);
        actorFetches.push({ signer: text(key?.ownerId), keyId: text(key?.id) });
        if (key == null) {
          res.writeHead(401);
          res.end();
          return;
        }
      }
      const actor = new Application({
        id: new URL(`${base}/actor`),
        preferredUsername: "peer",
        name: "Fedify interop peer",
        inbox: new URL(`${base}/inbox`),
        publicKey: new CryptographicKey({
          id: new URL(`${base}/actor#main-key`),
          owner: new URL(`${base}/actor`),
          publicKey,
        }),
      });
      res.writeHead(200, { "content-type": "application/activity+json" });
      res.end(JSON.stringify(await actor.toJsonLd()));
      return;
    }
    if (req.method === "POST" && req.url === "/inbox") {
      const chunks = [];
      for await (const chunk of req) chunks.push(chunk);
      const body = Buffer.concat(chunks);
      // Fedify checks the HTTP signature (fetching the signer's key from its actor).
      const request = new Request(`${base}${req.url}`, {
        method: "POST",
        headers: Object.entries(req.headers).map(([k, v]) => [k, String(v)]),
        body,
      });
      const key = await verifyRequest(request, {
        documentLoader: getDocumentLoader(LOOKUP),
      }).catch(() => null);
      received.push({ json: JSON.parse(body.toString("utf8")), signer: text(key?.ownerId) });
      res.writeHead(key ? 202 : 401);
      res.end();
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  const keyId = new URL(`${base}/actor#main-key`);
  return {
    actorId: `${base}/actor`,
    keyId,
    privateKey,
    publicKeyPem: await exportSpki(publicKey),
    received,
    actorFetches,
    signedLoader: getAuthenticatedDocumentLoader({ keyId, privateKey }, LOOKUP),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

function text(value) {
  return value == null ? null : value.toString();
}

async function describeActor(actor) {
  const key = await actor.getPublicKey();
  const fields = [];
  for await (const item of actor.getAttachments()) {
    if (item instanceof PropertyValue) fields.push({ name: text(item.name), value: text(item.value) });
  }
  const icon = await actor.getIcon();
  return {
    type: actor.constructor.name,
    id: text(actor.id),
    preferredUsername: text(actor.preferredUsername),
    name: text(actor.name),
    summary: text(actor.summary),
    url: text(actor.url?.href ?? actor.url),
    inbox: text(actor.inboxId),
    outbox: text(actor.outboxId),
    followers: text(actor.followersId),
    following: text(actor.followingId),
    featured: text(actor.featuredId),
    sharedInbox: text(actor.endpoints?.sharedInbox),
    manuallyApprovesFollowers: actor.manuallyApprovesFollowers,
    discoverable: actor.discoverable,
    publicKey: key && { id: text(key.id), owner: text(key.ownerId) },
    icon: icon && text(icon.url?.href ?? icon.url),
    attachment: fields,
  };
}

async function describeObject(object) {
  const tags = [];
  for await (const tag of object.getTags()) {
    if (tag instanceof Hashtag) tags.push(text(tag.name));
  }
  const location = await object.getLocation();
  return {
    type: object.constructor.name,
    id: text(object.id),
    name: text(object.name),
    summary: text(object.summary),
    content: text(object.content),
    url: text(object.url?.href ?? object.url),
    attributedTo: object.attributionIds.map(text),
    audience: object.audienceIds.map(text),
    to: object.toIds.map(text),
    cc: object.ccIds.map(text),
    published: text(object.published),
    updated: text(object.updated),
    tags,
    location: location && {
      type: location.constructor.name,
      name: text(location.name),
      latitude: location.latitude,
      longitude: location.longitude,
    },
  };
}

/** Waits until `predicate` holds or `seconds` pass (the server answers on its own time). */
async function until(predicate, seconds) {
  const deadline = Date.now() + seconds * 1000;
  while (!predicate()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}

async function parsed(entry) {
  return Activity.fromJsonLd(entry.json, { documentLoader: getDocumentLoader(LOOKUP) });
}

function loaderFor(peer) {
  return peer ? peer.signedLoader : getDocumentLoader(LOOKUP);
}

/** POSTs `activity` to `inbox`, signed (draft-cavage) with the peer's key; the status. */
async function deliver(peer, inbox, activity) {
  const request = await signRequest(
    new Request(inbox, {
      method: "POST",
      headers: { "content-type": "application/activity+json" },
      body: JSON.stringify(await activity.toJsonLd()),
    }),
    peer.privateKey,
    peer.keyId,
    { spec: "draft-cavage-http-signatures-12" },
  );
  return (await fetch(request)).status;
}

const COMMANDS = {
  async "sign-object"([json]) {
    const { privateKey, publicKey } = await generateCryptoKeyPair("Ed25519");
    const source = JSON.parse(json);
    const object = await ApObject.fromJsonLd(source, { documentLoader: getDocumentLoader(LOOKUP) });
    const keyId = new URL(`${text(object.attributionId)}#ed25519-key`);
    const signed = await signObject(object, privateKey, keyId);
    return {
      document: await signed.toJsonLd({ format: "compact" }),
      keyId: keyId.href,
      publicKeyMultibase: await exportMultibaseKey(publicKey),
    };
  },
  async "accept-follow"([seconds = "30"], peer) {
    if (peer == null) throw new Error("accept-follow needs --signed (a running peer)");
    process.stdout.write(`${JSON.stringify({ event: "ready", actor: peer.actorId })}\n`);
    const isFollow = (e) => e.json.type === "Follow" && e.signer != null;
    if (!(await until(() => peer.received.some(isFollow), Number(seconds)))) {
      throw new Error(`no signed Follow within ${seconds} s; received ${JSON.stringify(peer.received)}`);
    }
    const entry = peer.received.find(isFollow);
    const follow = await parsed(entry);
    if (!(follow instanceof Follow) || text(follow.objectId) !== peer.actorId) {
      throw new Error(`not a Follow of ${peer.actorId}: ${JSON.stringify(entry.json)}`);
    }
    // The follower, looked up with a signed GET (its server may use authorized fetch).
    const follower = await lookupObject(follow.actorId.href, {
      ...LOOKUP,
      documentLoader: peer.signedLoader,
    });
    if (follower?.inboxId == null) throw new Error(`cannot look up ${follow.actorId}`);
    const accept = new Accept({
      id: new URL(`${peer.actorId}/accepts/${Date.now()}`),
      actor: new URL(peer.actorId),
      object: follow,
      to: follow.actorId,
    });
    const status = await deliver(peer, follower.inboxId, accept);
    return {
      follow: { id: text(follow.id), actor: text(follow.actorId), object: text(follow.objectId) },
      followSigner: entry.signer,
      follower: { id: text(follower.id), inbox: text(follower.inboxId) },
      acceptStatus: status,
      actorFetches: peer.actorFetches,
    };
  },
  async follow([identifier, seconds = "30"], peer) {
    if (peer == null) throw new Error("follow needs --signed (a running peer)");
    const target = await lookupObject(identifier, { ...LOOKUP, documentLoader: peer.signedLoader });
    if (target == null) throw new Error(`no actor found for ${identifier}`);
    const followId = new URL(`${peer.actorId}/follows/${Date.now()}`);
    const follow = new Follow({ id: followId, actor: new URL(peer.actorId), object: target.id });
    const status = await deliver(peer, target.inboxId, follow);
    process.stdout.write(`${JSON.stringify({ event: "followed", status, actor: peer.actorId })}\n`);
    const ok = await until(
      () =>
        peer.received.some((e) => e.json.type === "Accept") &&
        peer.received.some((e) => e.json.type === "Create"),
      Number(seconds),
    );
    const activities = await Promise.all(peer.received.map(parsed));
    const accept = activities.find((a) => a instanceof Accept);
    const create = activities.find((a) => a instanceof Create);
    const page = create ? await create.getObject({ documentLoader: getDocumentLoader(LOOKUP) }) : null;
    const signers = peer.received.map((e) => e.signer);
    return {
      complete: ok,
      followStatus: status,
      actorFetches: peer.actorFetches,
      followed: text(target.id),
      received: peer.received.map((e) => e.json.type),
      signers,
      accept: accept && { actor: text(accept.actorId), object: text(accept.objectId) },
      create: create && {
        actor: text(create.actorId),
        object: page && { type: page.constructor.name, isPage: page instanceof Page, id: text(page.id), name: text(page.name) },
      },
    };
  },
  async lookup([identifier], peer) {
    const actor = await lookupObject(identifier, { ...LOOKUP, documentLoader: loaderFor(peer) });
    if (actor == null) throw new Error(`no object found for ${identifier}`);
    return describeActor(actor);
  },
  async object([url], peer) {
    const object = await lookupObject(url, { ...LOOKUP, documentLoader: loaderFor(peer) });
    if (object == null) throw new Error(`no object found at ${url}`);
    return describeObject(object);
  },
};

async function main(argv) {
  const flags = new Set(argv.filter((a) => a.startsWith("--")));
  const [command, ...args] = argv.filter((a) => !a.startsWith("--"));
  if (!(command in COMMANDS)) {
    throw new Error(`unknown command ${command}; known: ${Object.keys(COMMANDS).join(", ")}`);
  }
  const authorizedFetch = flags.has("--authorized-fetch");
  const peer = flags.has("--signed") ? await startPeer({ authorizedFetch }) : null;
  try {
    const result = await COMMANDS[command](args, peer);
    return { ok: true, signedBy: peer ? peer.actorId : null, ...result };
  } finally {
    await peer?.close();
  }
}

main(process.argv.slice(2)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error) => {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(error?.stack ?? error) })}\n`);
    process.exitCode = 1;
  },
);
