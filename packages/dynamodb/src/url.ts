/**
 * `dynamodb://` URLs → store options, without I/O and without loading the AWS SDK (the
 * descriptor entry imports this file).
 */
import {
  decodeUrlPart,
  definedOptions,
  parseBooleanParam,
  parseNumberParam,
  redactUrl,
  registerSecret,
  SessionValidationError,
  takeUrlParams,
} from '@sessions/core';

const PREFIX = 'dynamodb://';
/** Query parameters the store reads; any other one is refused (the SDK takes none). */
export const URL_PARAMS: readonly string[] = ['ttlSeconds', 'region', 'tls', 'createTable'];

/**
 * `dynamodb://[accessKeyId:secretAccessKey@][host[:port]]/<table>?region=…[&tls=true][&createTable=false][&ttlSeconds=…]`.
 * A host gives the endpoint `http://host:port` (`https` with `tls=true`): DynamoDB Local or
 * LocalStack. No host (`dynamodb:///table`) uses AWS's own endpoint for the region. Credentials
 * in the URL are used as static credentials; otherwise the AWS SDK's default chain applies
 * (environment, profile, instance role). The region defaults to `AWS_REGION`.
 *
 * Credentials are percent-decoded with `+` kept literal (AWS secret keys contain it). The
 * user-info runs to the LAST `@`, as in core's masking, so a secret pasted without encoding
 * (with `@`, `/`, `?`, `#` or spaces in it) still parses, and is masked wherever it is printed.
 */
export function optionsFromUrl(url: string): Record<string, unknown> {
  if (typeof url !== 'string' || url.slice(0, PREFIX.length).toLowerCase() !== PREFIX) {
    throw new SessionValidationError(`Expected a dynamodb:// URL, got ${JSON.stringify(redactUrl(String(url)))}`);
  }
  const body = url.slice(PREFIX.length);
  const at = body.lastIndexOf('@');
  const userInfo = at === -1 ? undefined : body.slice(0, at);
  const { rest, params } = takeUrlParams(PREFIX + body.slice(at + 1), URL_PARAMS);
  const [, host = '', path = '', query] = /^[^:]+:\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?/.exec(rest) ?? [];
  if (query) {
    throw new SessionValidationError(
      `Unknown dynamodb:// parameters ${JSON.stringify(query.replace(/=[^&]*/g, '=…'))}: only region, tls, createTable and ttlSeconds`,
    );
  }
  const tableName = decodeUrlPart(path);
  if (tableName.includes('/')) {
    throw new SessionValidationError('dynamodb:// URLs name one table: dynamodb://host:port/<table>');
  }
  const clientConfig: Record<string, unknown> = {};
  const env = globalThis.process?.env ?? {};
  const region = params.get('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (region) clientConfig.region = region;
  if (host) {
    const tls = parseBooleanParam(params.get('tls'), 'tls') ?? false;
    clientConfig.endpoint = `${tls ? 'https' : 'http'}://${host}`;
  }
  if (userInfo !== undefined && userInfo !== '') {
    const colon = userInfo.indexOf(':');
    const rawSecret = colon === -1 ? '' : userInfo.slice(colon + 1);
    const secretAccessKey = decodeUrlPart(rawSecret);
    registerSecret(rawSecret);
    registerSecret(secretAccessKey);
    clientConfig.credentials = {
      accessKeyId: decodeUrlPart(colon === -1 ? userInfo : userInfo.slice(0, colon)),
      secretAccessKey,
    };
  }
  return definedOptions({
    clientConfig,
    tableName: tableName === '' ? undefined : tableName,
    createTable: parseBooleanParam(params.get('createTable'), 'createTable'),
    ttlSeconds: parseNumberParam(params.get('ttlSeconds'), 'ttlSeconds'),
  });
}
