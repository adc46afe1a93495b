import { parentPort } from 'node:worker_threads';
import { toPolledDocument } from './document';
import type { RemoteFile } from './source';

// The worker side of document-parser.ts: one file per message, answered with the event body
// (its bytes transferred, not copied).

export interface ParseRequest {
  id: number;
  file: RemoteFile;
  bytes: Uint8Array;
  sourceKind: string;
}

export interface ParseResponse {
  id: number;
  topic: string;
  body: Uint8Array;
  parseError?: string;
  errorCode?: 'parse_failed' | 'parse_timeout';
}

parentPort!.on('message', (request: ParseRequest) => {
  const bytes = Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength);
  const document = toPolledDocument(request.file, bytes, request.sourceKind);
  // A Buffer may share a pooled ArrayBuffer; a copy of its own can be transferred safely.
  const body = new Uint8Array(document.body);
  const response: ParseResponse = {
    id: request.id,
    topic: document.topic,
    body,
    parseError: document.parseError,
    errorCode: document.errorCode,
  };
  parentPort!.postMessage(response, [body.buffer as ArrayBuffer]);
});
