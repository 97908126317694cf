// crane's lint rules: ESLint's and typescript-eslint's recommended sets; formatting is Prettier's (npm run format).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "src/core/generated/**", ".tmp/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  // An argument named _x is there for its position in a signature, not for use.
  { rules: { "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }] } },
);
