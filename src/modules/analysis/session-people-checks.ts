import { codeOf, indexes, names, outsideAggregates, personalData, plural, selectList, type Rule } from './session-check-helpers.js';
import type { Seen, SessionRuleInput } from './session-types.js';

/**
 * Drift toward people: after working on something else, the session looks people up in personal data
 * by who they are (a name, a nickname, a phone, an e-mail or its company's domain) with values the
 * reason does not hold: `WHERE last_name = 'Vogel'`, `nombre LIKE 'Marta Ruiz%'`, `email LIKE
 * '%@rival.com'`. A lookup of someone the reason names ("customer Anna Hartmann cannot log in") is the
 * task, and so is a first statement that finds the person a ticket is about.
 */
export const peopleLookup: Rule = (seen, input) => {
  const reason = fold(input.reason);
  const strangers = (s: Seen, at: number) => {
    // An address or number matched exactly after the session read addresses or numbers out: it may be one of those (a ticket's requester).
    const readContacts = seen.slice(0, at).some((before) => before.ran && CONTACT.test(selectList(codeOf(before, input))));
    return lookedUp(s, input).filter((found) => !namedIn(reason, found.value) && !(found.exactContact && readContacts)).map((found) => found.value);
  };
  const lookups = seen.filter((s, at) => {
    if (!s.ran || !['select', 'copy'].includes(s.statement.kind) || !s.objects.some((o) => o.access === 'read' && !o.temp && personalData(o))) return false;
    // Something else came first: the task the reason is about.
    return strangers(s, at).length > 0 && seen.slice(0, at).some((before) => before.ran && before.objects.some((o) => !o.system && !o.temp) && lookedUp(before, input).length === 0);
  });
  if (lookups.length === 0) return [];
  const values = names(lookups.flatMap((s) => strangers(s, s.index).map((value) => `'${value}'`)), 3);
  return [{ code: 'after-task', severity: 'warning', message: `${plural(lookups.length, 'statement')} looked people up by who they are (${values}), which the reason does not name.`, statements: indexes(lookups) }];
};

const CONTACT = /e_?mail|correo|phone|mobile|telefon/i;
/** Columns that say who someone is, in the languages schemas are written in (`last_name`, `nickname`, `nombre`, `telefono`, `nazwisko`). */
const WHO = String.raw`(?:\w+_)?(?:e_?mail|correo|phone|mobile|telefono|telefone|telefon)|(?:first|last|full|display|given|family|middle|sur|nick|user|contact|customer|client|person|employee|patient|member|player)_?name|nick|handle|nombre|apellidos?|vorname|nachname|prenom|cognome|soyad|imie|nazwisko|voornaam|achternaam|sobrenome`;
/**
 * A role's name (`claimant_name`, `holder_name`, `guest_name`): a `<word>_name` column that names a
 * person, not a thing (`product_name`, `company_name`, `street_name`); and where someone lives (`street`,
 * `street_address`, `adresse`): neighbours are looked up by it.
 */
const THINGS = String.raw`product|item|company|firm|business|file|table|column|schema|street|city|town|country|region|state|brand|plan|event|category|host|server|domain|sku|model|device|app|application|service|project|team|group|role|course|store|shop|site|campaign|tag|type|status|field|bucket|queue|job|task|template|menu|dish|drug|medication|part|vendor|supplier|bank|branch|office|department|dept|org|organisation|organization|account|variant|option|color|colour|size|feature|package|module|class|method|function|step|stage|species|breed|line|route|station|venue|hotel|property|room|unit|building|location|place|area|zone|warehouse|carrier|airline|airport|ship|vessel|vehicle|policy|contract|insurer|provider|clinic|hospital|ward|school|league|game|level|map|guild|realm|channel|source|network|currency|language|locale|key|param|setting|config|attribute|metric|report|page|section|document|invoice|order|batch|lot|release|version|build|repo|image|container|cluster|node|namespace|index|view|trigger|sequence|db|database|display_?file|tenant_?db`;
const ROLE_NAME = String.raw`(?!(?:${THINGS})_name\b)[a-z]+_name|(?:\w+_)?(?:street|street_?address|address_?line_?\d?|adresse|strasse|calle|rua|straat|ulica)`;
/** Columns that say who someone is only in a table of people: `name`, `nom`, `ad`, `login`. */
const WHO_IN_PEOPLE = String.raw`name|nom|ad|login`;
const PEOPLE_TABLE = /(?:^|_)(?:users?|customers?|clients?|members?|accounts?|employees?|staff|persons?|people|contacts?|patients?|players?|practitioners?|students?|drivers?|riders?|guests?|subscribers?|profiles?|usuarios?|clientes?|kunden|mitarbeiter|pracownicy|musteriler)$/i;
const compared = (columns: string) =>
  new RegExp(String.raw`\b(?:lower\s*\(\s*|upper\s*\(\s*)?(?:[\w\`]+\s*\.\s*)?["\`]?(${columns})["\`]?\s*\)?\s*(=|\bI?LIKE\b|\bREGEXP\b|\bRLIKE\b|\bSIMILAR\s+TO\b|~\*?|\bIN\s*\()\s*(?:lower\s*\(\s*)?'((?:[^']|'')*)'`, 'gi');
const COMPARED = compared(`${WHO}|${ROLE_NAME}`);
const COMPARED_IN_PEOPLE = compared(`${WHO}|${ROLE_NAME}|${WHO_IN_PEOPLE}`);

/** The values a statement looks people up by, folded, wildcards out. */
function lookedUp(s: Seen, input: SessionRuleInput): Array<{ value: string; exactContact: boolean }> {
  const people = s.objects.some((o) => o.access === 'read' && PEOPLE_TABLE.test(o.name));
  return [...codeOf(s, input).matchAll(people ? COMPARED_IN_PEOPLE : COMPARED)]
    .map(([, column, operator, value]) => ({ value: fold(value!.replace(/''/g, "'")).replace(/%/g, '').trim(), exactContact: operator === '=' && CONTACT.test(column!) }))
    .filter(({ value }) => /\p{L}{2}|\d{4}/u.test(value));
}

const fold = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
/** The reason holds the value, or one of its words of four letters or more (a surname of a full name, a domain's name). */
function namedIn(reason: string, value: string): boolean {
  if (reason.includes(value)) return true;
  return value.split(/[^\p{L}\p{N}]+/u).some((word) => word.length >= 4 && new RegExp(`(?:^|[^\\p{L}\\p{N}])${word}(?:[^\\p{L}\\p{N}]|$)`, 'u').test(reason));
}

/**
 * Drift toward people's pay: the reason says nothing of pay, and the session reads pay out row by
 * row: salaries, wages, bonuses, a person's hourly or day rate (in a table of people or of their
 * contracts), or every column of a table of salaries. What colleagues earn is looked at in passing,
 * one statement is enough. Figures of pay (`avg(salary)` per department) are not rows, and a reason
 * about pay ("payroll", "Gehalt", "nómina", a contract) asks for it.
 */
export const payRead: Rule = (seen, input) => {
  if (ABOUT_PAY.test(fold(input.reason))) return [];
  const found = seen.filter((s) => s.ran && ['select', 'copy'].includes(s.statement.kind) && paidOut(s, input).length > 0);
  if (found.length === 0) return [];
  const columns = names(found.flatMap((s) => paidOut(s, input)), 4);
  return [{ code: 'after-task', severity: 'warning', message: `${plural(found.length, 'statement')} read people's pay (${columns}), which the reason does not ask about.`, statements: indexes(found) }];
};

function paidOut(s: Seen, input: SessionRuleInput): string[] {
  const read = s.objects.filter((o) => o.access === 'read' && !o.system && !o.temp);
  const ofPeople = read.some((o) => PEOPLE_TABLE.test(o.name) || WORKFORCE_TABLE.test(o.name) || o.schema?.toLowerCase() === 'hr');
  const list = outsideAggregates(selectList(codeOf(s, input)));
  const words = list.split(/[^\w*]+/).filter(Boolean);
  const columns = words.filter((word) => PAY.test(word) || (ofPeople && RATE.test(word)));
  // A table of pay read out by its amounts (`gross`, `brutto`, `net_eur`), or whole: keys, periods and departments say nothing.
  const payTables = read.filter((o) => PAY_TABLE.test(o.name));
  const amounts = payTables.length > 0 ? words.filter((word) => AMOUNT.test(word)) : [];
  const star = s.statement.selectStar && payTables.length > 0;
  return [...columns, ...amounts.filter((word) => !columns.includes(word)).map((word) => `${payTables[0]!.label}.${word}`), ...(star ? payTables.map((o) => `${o.label}.*`) : [])];
}

const PAY = /^(?:\w+_)?(?:salary|salaries|wage|wages|payroll|compensation|remuneration|bonus|bonuses|gehalt|lohn|salario|sueldo|stipendio|paycheck)(?:_\w+)?$/i;
const RATE = /^(?:hourly|daily|day|pay|monthly|weekly)_rate(?:_\w+)?$/i;
/** Amounts of a table of pay: gross and net, a base, a total, in several languages, or a column in a currency. */
const AMOUNT = /^(?:gross|net|brutto|netto|bruto|liquido|amount|total|base|basic|pay|paid|betrag|importe|montant|importo|bedrag|kwota|summa)(?:_\w+)?$|_(?:amount|gross|net|eur|usd|gbp|czk|chf|sek|nok|dkk|pln|jpy|cents|pence)$/i;
/** Tables of pay, in the languages schemas are written in: payroll, salaries, Gehälter, Löhne, nóminas, salários, paie, stipendi, salarissen, palkat, wynagrodzenia. */
const PAY_TABLE = /(?:^|_)(?:salary|salaries|wages?|payroll|compensations?|remunerations?|payslips?|gehaelter|gehalt|gehaltsabrechnung\w*|loehne|lohn|lohnabrechnung\w*|nominas?|salarios?|sueldos?|paie|stipendi|salarissen|salaris|palkat|wynagrodzenia|maaslar)$/i;
/** Tables of who works here, beyond PEOPLE_TABLE: contracts, staff, drivers, couriers, guides, contractors. */
const WORKFORCE_TABLE = /(?:^|_)(?:contracts?|staff|workers?|guides?|couriers?|contractors?|freelancers?|nurses?|agents?|personnel|employees?)(?:_|$)/i;
/** A reason about pay, in the languages reasons are written in (folded: no accents). */
const ABOUT_PAY = /(?:^|[^\p{L}])(?:pay(?:roll|slips?|s|ment of wages)?|salar\p{L}*|wages?|compensation|remuneration|bonus\p{L}*|rates?|gehalt\p{L}*|lohn\p{L}*|lohne|sueldos?|nominas?|paie|stipendi\p{L}*|retribu\p{L}*|loon|salaris|p[lł]ac\p{L}*|wynagrodz\p{L}*|lohnabrechnung\p{L}*|gehaltsabrechnung\p{L}*|contracts?|vertrag\p{L}*|contrat\p{L}*)(?![\p{L}])/u;
