import type { ActionStyle, IChoice, IFact } from 'adaptivecards/lib/schema.js';
import type { TeamsActionData, TeamsVerb } from './teams-actions.js';

/**
 * The Adaptive Card 1.5 JSON dbaccess sends. Facts, choices and action styles are the `adaptivecards`
 * package's own schema types. The elements are typed here, narrower than the package's: its
 * `ICardElement` accepts any property (`[propName: string]: any`, so a misspelt one would compile),
 * spells enums in lower case only, requires an `id` on every action, and has no RichTextBlock,
 * TextRun, input `label`/`isRequired`/`errorMessage`, `filtered` choice sets or typed `Action.Execute`
 * data, all of which these cards use.
 */


export type TextColor = 'Default' | 'Good' | 'Warning' | 'Attention' | 'Accent';
type Spacing = 'None' | 'Small' | 'Default' | 'Medium' | 'Large';

export interface TextBlock {
  type: 'TextBlock';
  text: string;
  wrap: true;
  size?: 'Small' | 'Medium' | 'Large';
  weight?: 'Bolder';
  color?: TextColor;
  isSubtle?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}
export interface TextRun {
  type: 'TextRun';
  text: string;
  fontType?: 'Monospace';
}
/** No markdown: what it shows is exactly its text. */
export interface RichTextBlock {
  type: 'RichTextBlock';
  inlines: TextRun[];
  spacing?: Spacing;
}
export interface FactSet {
  type: 'FactSet';
  facts: IFact[];
}
export interface Container {
  type: 'Container';
  items: CardElement[];
  style?: 'default' | 'emphasis' | 'good' | 'attention' | 'warning' | 'accent';
  bleed?: boolean;
  spacing?: Spacing;
  separator?: boolean;
}
export interface ColumnSet {
  type: 'ColumnSet';
  columns: Array<{ type: 'Column'; width: 'auto' | 'stretch' | string; items: CardElement[] }>;
  spacing?: Spacing;
}
export interface ActionSet {
  type: 'ActionSet';
  actions: CardAction[];
}
export interface InputText {
  type: 'Input.Text';
  id: string;
  label: string;
  value?: string;
  placeholder?: string;
  isMultiline?: boolean;
  maxLength?: number;
  isRequired?: boolean;
  errorMessage?: string;
}
export interface InputChoiceSet {
  type: 'Input.ChoiceSet';
  id: string;
  label: string;
  choices: IChoice[];
  value?: string;
  placeholder?: string;
  style?: 'compact' | 'filtered';
  /** Several values, sent as one comma-separated string. */
  isMultiSelect?: boolean;
  isRequired?: boolean;
  errorMessage?: string;
}
export interface InputToggle {
  type: 'Input.Toggle';
  id: string;
  label: string;
  title: string;
  value: 'true' | 'false';
  valueOn: 'true';
  valueOff: 'false';
}
export type CardElement = TextBlock | RichTextBlock | FactSet | Container | ColumnSet | ActionSet | InputText | InputChoiceSet | InputToggle;

export interface ExecuteAction<V extends TeamsVerb = TeamsVerb> {
  type: 'Action.Execute';
  title: string;
  verb: V;
  data: TeamsActionData[V];
  style?: Exclude<ActionStyle, 'default'>;
}
export interface ShowCardAction {
  type: 'Action.ShowCard';
  title: string;
  card: AdaptiveCard;
  style?: Exclude<ActionStyle, 'default'>;
}
export type CardAction = { [V in TeamsVerb]: ExecuteAction<V> }[TeamsVerb] | ShowCardAction;

export interface AdaptiveCard {
  type: 'AdaptiveCard';
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  version: '1.5';
  body: CardElement[];
  actions?: CardAction[];
  msteams?: { width: 'Full' };
}

export const ADAPTIVE_CARD_CONTENT_TYPE = 'application/vnd.microsoft.card.adaptive';
export interface CardAttachment {
  contentType: typeof ADAPTIVE_CARD_CONTENT_TYPE;
  content: AdaptiveCard;
}
