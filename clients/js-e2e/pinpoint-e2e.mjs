// Homing through the AWS SDK for JavaScript v3, as a web app calls it (see README "Web and mobile apps").
//
// Env: HOMING_API_URL, HOMING_APP_ID, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
// HOMING_ORIGIN (the page's origin, default https://app.example), HOMING_ENDPOINT_ID.
// Sends a CORS preflight like a browser, then UpdateEndpoint, PutEvents and GetEndpoint with the
// SDK (signing for execute-api, each request carrying the page's Origin), and a GetEndpoint of an
// unknown endpoint. Prints one JSON object with what it saw; exits 1 only if it could not run.
import {
  GetEndpointCommand,
  PinpointClient,
  PutEventsCommand,
  UpdateEndpointCommand,
} from "@aws-sdk/client-pinpoint";

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const apiUrl = env("HOMING_API_URL").replace(/\/$/, "");
const appId = env("HOMING_APP_ID");
const origin = env("HOMING_ORIGIN", "https://app.example");
const endpointId = env("HOMING_ENDPOINT_ID", "js-web-1");
const region = env("AWS_REGION", "us-east-1");

const CORS_HEADERS = [
  "access-control-allow-origin",
  "access-control-allow-methods",
  "access-control-allow-headers",
  "access-control-expose-headers",
  "access-control-max-age",
];
const pick = (headers) =>
  Object.fromEntries(CORS_HEADERS.filter((h) => headers.get(h) !== null).map((h) => [h, headers.get(h)]));

async function preflight(path, method, requestHeaders) {
  const response = await fetch(apiUrl + path, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": method,
      "Access-Control-Request-Headers": requestHeaders,
    },
  });
  return { status: response.status, headers: pick(response.headers) };
}

const client = new PinpointClient({
  region,
  endpoint: apiUrl,
  signingName: "execute-api", // API Gateway's IAM auth: the one change a Pinpoint client needs
  credentials: { accessKeyId: env("AWS_ACCESS_KEY_ID"), secretAccessKey: env("AWS_SECRET_ACCESS_KEY") },
});

// What a browser adds and sees: the page's Origin on every request, and the CORS headers of each answer.
const seen = [];
client.middlewareStack.add(
  (next) => async (args) => {
    args.request.headers.origin = origin;
    return next(args);
  },
  { step: "build", name: "addOrigin" },
);
client.middlewareStack.add(
  (next) => async (args) => {
    const scope = /Credential=[^/]+\/[^/]+\/([^/]+)\/([^/]+)\//.exec(args.request.headers.authorization ?? "");
    const result = await next(args);
    const headers = new Map(Object.entries(result.response.headers).map(([k, v]) => [k.toLowerCase(), v]));
    seen.push({
      method: args.request.method,
      status: result.response.statusCode,
      signedRegion: scope?.[1],
      signedService: scope?.[2],
      headers: pick({ get: (h) => headers.get(h) ?? null }),
    });
    return result;
  },
  { step: "finalizeRequest", name: "recordCors", priority: "low" },
);

async function main() {
  const out = { origin };
  out.preflight = await preflight(
    `/v1/apps/${appId}/events`,
    "POST",
    "authorization,content-type,x-amz-date,x-amz-user-agent,amz-sdk-invocation-id,amz-sdk-request",
  );
  const now = new Date().toISOString();
  const update = await client.send(
    new UpdateEndpointCommand({
      ApplicationId: appId,
      EndpointId: endpointId,
      EndpointRequest: {
        ChannelType: "EMAIL",
        Address: "web-visitor@example.com",
        Attributes: { plan: ["free"] },
        User: { UserId: "web-user-1" },
      },
    }),
  );
  out.updateEndpoint = { message: update.MessageBody?.Message ?? null };
  const events = await client.send(
    new PutEventsCommand({
      ApplicationId: appId,
      EventsRequest: {
        BatchItem: {
          [endpointId]: {
            Endpoint: {},
            Events: {
              "page-1": { EventType: "page_view", Timestamp: now, Attributes: { page: "/pricing" } },
              "session-1": { EventType: "_session.start", Timestamp: now, Session: { Id: "s-1", StartTimestamp: now } },
            },
          },
        },
      },
    }),
  );
  const item = events.EventsResponse?.Results?.[endpointId] ?? {};
  out.putEvents = {
    endpointStatus: item.EndpointItemResponse?.StatusCode ?? null,
    events: Object.fromEntries(Object.entries(item.EventsItemResponse ?? {}).map(([k, v]) => [k, v.StatusCode])),
  };
  const got = await client.send(new GetEndpointCommand({ ApplicationId: appId, EndpointId: endpointId }));
  out.getEndpoint = {
    channelType: got.EndpointResponse?.ChannelType,
    address: got.EndpointResponse?.Address,
    userId: got.EndpointResponse?.User?.UserId,
    attributes: got.EndpointResponse?.Attributes,
  };
  try {
    await client.send(new GetEndpointCommand({ ApplicationId: appId, EndpointId: "no-such-endpoint" }));
    out.unknownEndpoint = { error: null };
  } catch (error) {
    const headers = new Map(Object.entries(error.$response?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    out.unknownEndpoint = {
      error: error.name,
      status: error.$metadata?.httpStatusCode ?? null,
      headers: pick({ get: (h) => headers.get(h) ?? null }),
    };
  }
  out.responses = seen;
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((error) => {
  process.stderr.write(`${error.name}: ${error.message}\n${error.stack}\n`);
  process.exit(1);
});
