// A Lambda function: the handler the image's CMD names (index.handler).
export const handler = async (event) => ({
  statusCode: 200,
  body: JSON.stringify({ hello: event?.name ?? 'world' }),
});
