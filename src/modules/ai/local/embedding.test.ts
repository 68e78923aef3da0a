import { embedMany } from "ai";
import { describe, expect, it } from "vitest";
import { LocalEmbeddingModel, localEmbeddingDimensions, stem } from "./embedding.ts";

const model = new LocalEmbeddingModel();
const cosine = (a: number[], b: number[]) =>
  a.reduce((sum, value, i) => sum + value * (b[i] ?? 0), 0);

async function similarity(query: string, text: string): Promise<number> {
  const { embeddings } = await embedMany({ model, values: [query, text], maxRetries: 0 });
  const [a = [], b = []] = embeddings;
  return cosine(a, b);
}

describe("the offline embedding model", () => {
  it("answers through the AI SDK with unit vectors of a fixed size, the same every time", async () => {
    const first = await embedMany({ model, values: ["Renew passport", "🎉"], maxRetries: 0 });
    const again = await embedMany({ model, values: ["Renew passport"], maxRetries: 0 });
    expect(first.embeddings).toHaveLength(2);
    for (const vector of first.embeddings) {
      expect(vector).toHaveLength(localEmbeddingDimensions);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    }
    expect(again.embeddings[0]).toEqual(first.embeddings[0]);
    expect(first.usage.tokens).toBeGreaterThan(0);
  });

  it("brings word forms and typos together (it is lexical)", async () => {
    expect(stem("renewing")).toBe("renew");
    expect(stem("groceries")).toBe("grocery");
    expect(await similarity("aplication form", "Photos and the application form")).toBeGreaterThan(
      0.3,
    );
    expect(await similarity("plants watering", "Water the plants")).toBeGreaterThan(0.5);
  });

  it("does not know synonyms or unrelated words", async () => {
    expect(await similarity("automobile", "Service the car")).toBeLessThan(0.15);
    expect(await similarity("grocery list", "Call the plumber")).toBeLessThan(0.15);
  });
});
