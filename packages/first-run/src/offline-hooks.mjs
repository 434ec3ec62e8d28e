// Module hooks registered by offline-preload.mjs: when a program loads the ESM entry of
// `@openai/agents` (which makes the OpenAI provider the default), a few lines are appended to it
// that make the offline model the default instead, with the SDK's own agents-core instance.
const MODEL = new URL('./offline-model.mjs', import.meta.url).href;
const AGENTS_ENTRY = /\/node_modules\/@openai\/agents\/dist\/index\.mjs$/;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!AGENTS_ENTRY.test(new URL(url).pathname) || result.source == null) return result;
  const source = `${String(result.source)}
import * as __offlineAgentsCore from '@openai/agents-core';
import { installOfflineModel as __installOfflineModel } from ${JSON.stringify(MODEL)};
__installOfflineModel(__offlineAgentsCore);
`;
  return { ...result, source, shortCircuit: true };
}
