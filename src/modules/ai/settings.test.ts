import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../config.ts";
import { aiSettingsFromEnv, priceOf } from "./settings.ts";

const keys = (chain: Array<{ key: string }>) => chain.map((ref) => ref.key);

describe("AI settings from the environment", () => {
  it("chains the configured providers by default and always ends at local", () => {
    const settings = aiSettingsFromEnv({
      OPENAI_API_KEY: "sk-test",
      LOCAL_LLM_BASE_URL: "http://127.0.0.1:11434/v1",
      LOCAL_LLM_MODEL: "qwen2.5",
    });
    expect(keys(settings.routes.summary)).toEqual([
      "openai:gpt-4o-mini",
      "compatible:qwen2.5",
      "local:taskpilot-local-1",
    ]);
    expect(keys(aiSettingsFromEnv({ ANTHROPIC_API_KEY: "k" }).routes.digest)).toEqual([
      "anthropic:claude-haiku-4-5",
      "local:taskpilot-local-1",
    ]);
  });

  it("chains embedding models for embed: OpenAI's, a compatible server's if named, then local", () => {
    expect(
      keys(
        aiSettingsFromEnv({
          OPENAI_API_KEY: "sk-test",
          ANTHROPIC_API_KEY: "k",
          LOCAL_LLM_BASE_URL: "http://127.0.0.1:11434/v1",
          LOCAL_LLM_EMBEDDING_MODEL: "nomic-embed-text",
        }).routes.embed,
      ),
    ).toEqual([
      "openai:text-embedding-3-small",
      "compatible:nomic-embed-text",
      "local:taskpilot-embed-1",
    ]);
    expect(
      keys(
        aiSettingsFromEnv({ ANTHROPIC_API_KEY: "k", LOCAL_LLM_BASE_URL: "http://127.0.0.1:1/v1" })
          .routes.embed,
      ),
    ).toEqual(["local:taskpilot-embed-1"]);
    expect(() =>
      aiSettingsFromEnv({ ANTHROPIC_API_KEY: "k", AI_ROUTES: '{"embed": ["anthropic"]}' }),
    ).toThrow("AI_ROUTES embed: anthropic has no embedding models");
  });

  it("reads AI_ROUTES as inline JSON or as a file path", () => {
    const inline = aiSettingsFromEnv({
      OPENAI_API_KEY: "k",
      AI_ROUTES: '{"breakdown": ["openai:gpt-4.1-mini", "local"]}',
    });
    expect(keys(inline.routes.breakdown)).toEqual([
      "openai:gpt-4.1-mini",
      "local:taskpilot-local-1",
    ]);
    expect(keys(inline.routes.summary)).toEqual(["openai:gpt-4o-mini", "local:taskpilot-local-1"]);
    const file = join(mkdtempSync(join(tmpdir(), "ai-routes-")), "routes.json");
    writeFileSync(file, JSON.stringify({ summary: ["local"] }));
    expect(keys(aiSettingsFromEnv({ AI_ROUTES: file }).routes.summary)).toEqual([
      "local:taskpilot-local-1",
    ]);
  });

  it("prices models per million tokens, with a per-provider fallback and overrides", () => {
    const settings = aiSettingsFromEnv({
      OPENAI_API_KEY: "k",
      AI_PRICES: '{"openai:gpt-5-nano": {"input": 0.05, "output": 0.4}}',
    });
    const ref = (key: string) => ({
      provider: "openai" as const,
      model: key,
      key: `openai:${key}`,
    });
    expect(priceOf(settings, ref("gpt-5-nano"))).toEqual({ input: 0.05, output: 0.4 });
    expect(priceOf(settings, ref("unknown-model"))).toEqual({ input: 2.5, output: 10 });
  });

  it("stops start-up with a line naming the variable when AI settings are wrong", () => {
    const failure = (env: Record<string, string>) => {
      try {
        loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), "ai-config-")), ...env });
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as Error).message;
      }
      throw new Error("accepted");
    };
    expect(failure({ AI_ROUTES: '{"summary": ["openai"]}' })).toBe(
      "Invalid configuration: AI_ROUTES summary: openai:gpt-4o-mini needs OPENAI_API_KEY",
    );
    expect(failure({ AI_ROUTES: '{"summary": ["mystery:model"]}' })).toMatch(
      /^Invalid configuration: AI_ROUTES summary:/,
    );
    expect(failure({ AI_PRICES: '{"openai:x": {"input": -1, "output": 1}}' })).toMatch(
      /^Invalid configuration: AI_PRICES/,
    );
    expect(failure({ OPENAI_BASE_URL: "not a url" })).toBe(
      "Invalid configuration: OPENAI_BASE_URL must be an http(s) URL",
    );
    expect(failure({ AI_TIMEOUT_MS: "5" })).toBe(
      "Invalid configuration: AI_TIMEOUT_MS must be a whole number from 100 to 600000",
    );
  });

  it("needs no AI variables at all: every feature is offline", () => {
    const config = loadConfig({ DATA_DIR: mkdtempSync(join(tmpdir(), "ai-config-")) });
    expect(keys(config.ai.routes.breakdown)).toEqual(["local:taskpilot-local-1"]);
    expect(config.ai.localWhenOverBudget).toBe(true);
    expect(config.ai.redactPii).toBe(true);
  });
});
