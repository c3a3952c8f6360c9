/** Resource categories (as the API names them) and their colours: distinct, and legible on the light basemap. */
export const CATEGORIES = ["heat", "steam", "water", "material", "gas", "energy", "service"] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_COLOURS: Record<string, string> = {
  heat: "#e8590c",
  steam: "#c2255c",
  water: "#1c7ed6",
  material: "#7048e8",
  gas: "#0c8599",
  energy: "#e0a800",
  service: "#495057",
  none: "#98a39d",
};

export function categoryColour(category: string | null | undefined): string {
  return CATEGORY_COLOURS[category ?? "none"] ?? CATEGORY_COLOURS.none;
}
