// Ink's Text, without colour when the view is told so (NO_COLOR, --no-color, see core/cli/color.ts). Styles that
// are not colour (bold, dim, inverse for the selected row) stay: they carry meaning on a monochrome terminal too.
import { Text as InkText } from "ink";
import { createContext, useContext, type ComponentProps } from "react";

export const ColorContext = createContext(true);

export function Text(props: ComponentProps<typeof InkText>) {
  const color = useContext(ColorContext);
  return color ? <InkText {...props} /> : <InkText {...props} color={undefined} backgroundColor={undefined} />;
}
