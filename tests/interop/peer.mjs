#!/usr/bin/env node
// An independent ActivityPub peer for the interop tests, built on Fedify 2.3.6.
//
// Usage:  node tests/interop/peer.mjs <command> [arguments] [--signed]
//
//   lookup <acct:user@host | user@host | URL>   look an actor up (WebFinger for handles)
//   object <URL>                                fetch and parse an object (our Page)
//
//   --signed   sign every GET with the peer's own key (draft-cavage or RFC 9421, Fedify
//              chooses and double-knocks); the peer then serves its actor on loopback so
//              the server can fetch the key: http://127.0.0.1:<port>/actor#main-key
//
// Output: one JSON line on stdout, {"ok": true, ...} (exit 0) or {"ok": false, "error"} (exit 1).
// Environment: NODE_EXTRA_CA_CERTS (the test server's self-signed certificate).
//
// Structure for new commands (follow, send, serve...): add a function to COMMANDS taking
// (args, peer) where `peer` is the running peer (its actor id, key, document loader and
// the activities its inbox received); everything runs offline with allowPrivateAddress.

import http from "node:http";

import {
  exportSpki,
  generateCryptoKeyPair,
  getAuthenticatedDocumentLoader,
  getDocumentLoader,
} from "@fedify/fedify";
import {
  Application,
  CryptographicKey,
  Hashtag,
  PropertyValue,
  lookupObject,
} from "@fedify/vocab";

const LOOKUP = { allowPrivateAddress: true };

/** Starts the peer: a key pair and a loopback HTTP server for its actor and inbox. */
async function startPeer() {
  const { privateKey, publicKey } = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
  const received = [];
  const server = http.createServer(async (req, res) => {
    const base = `http://127.0.0.1:${server.address().port}`;
    if (req.method === "GET" && req.url === "/actor") {
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
      received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      res.writeHead(202);
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

function loaderFor(peer) {
  return peer ? peer.signedLoader : getDocumentLoader(LOOKUP);
}

const COMMANDS = {
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
  const signed = argv.includes("--signed");
  const [command, ...args] = argv.filter((a) => a !== "--signed");
  if (!(command in COMMANDS)) {
    throw new Error(`unknown command ${command}; known: ${Object.keys(COMMANDS).join(", ")}`);
  }
  const peer = signed ? await startPeer() : null;
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
