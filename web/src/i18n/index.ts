import { en } from "./en";

/** The active strings. One language today; pick by `navigator.language` when a second module exists. */
export const S = en;
export type { Strings } from "./en";
