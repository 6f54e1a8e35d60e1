import { foldText, quote, type Folded } from './text-match.js';

/**
 * What a reason and a ticket say about purpose, in the words people use (English, French, German,
 * Spanish, Portuguese; typos of the key words mended by text-match). Each finding carries the words
 * that made it, quoted as written, so a rating can name its evidence. Patterns are written against
 * folded text: lower case, no accents, punctuation gone, one space between words.
 *
 * The families follow eval/RUBRIC.md: exfiltration, bulk personal data, destruction, evasion,
 * credential access, pressure and vague purpose; text aimed at an automated reviewer is in steering.ts.
 */

export type IntentFamily = 'exfiltration' | 'bulkPersonalData' | 'destruction' | 'evasion' | 'credentials' | 'pressure';

export interface Finding {
  family: IntentFamily;
  /** The requester's words that made it. */
  words: string;
  /** Where the words are. */
  source: 'reason' | 'ticket';
}

export interface PurposeReading {
  findings: Finding[];
  /** The reason says too little to check: the words it has, for the explanation ("" when empty). */
  vague?: { words: string } | undefined;
  /** A ticket in the ticket field or named in the reason (`ORD-12`, `#4521`, `INC0012345`, a link). */
  ticket?: string | undefined;
  /** An incident is named (`INC-552`, "outage", "panne"): urgency and odd hours are then expected. */
  incident?: string | undefined;
  /** A destructive change says it is backed up or archived. */
  backedUp: boolean;
}

const any = (words: readonly string[]) => `(?:${words.join('|')})`;
const gap = (n: number) => `(?:[^ ]+ ){0,${n}}`;
const pattern = (source: string) => new RegExp(source);

// ---- vocabularies -------------------------------------------------------------------------------

const ALL = any([
  'all', 'every\\w*', 'entire\\w*', 'whole', 'full', 'complete\\w*', 'tout', 'toute', 'toutes', 'tous', 'ensemble', 'integral\\w*', 'alle', 'aller', 'alles',
  'gesamt\\w*', 'ganze\\w*', 'vollstandig\\w*', 'komplett\\w*', 'tod[oa]s?', 'tudo', 'enter[oa]', 'complet[oa]', 'inteir[oa]',
]);
const PEOPLE = any([
  'customer\\w*', 'client\\w*', 'user\\w*', 'member\\w*', 'employee\\w*', 'staff', 'patient\\w*', 'people', 'persons', 'subscriber\\w*', 'contacts',
  'candidate\\w*', 'student\\w*', 'citizen\\w*', 'utilisateur\\w*', 'salarie\\w*', 'employe\\w*', 'adherent\\w*', 'personnes', 'kunde\\w*', 'nutzer\\w*',
  'benutzer\\w*', 'mitarbeit\\w*', 'mitglied\\w*', 'usuari[oa]s?', 'emplead[oa]s?', 'personas', 'pessoas', 'funcionari[oa]s?', 'colaborador\\w*', 'membros?', 'miembros?',
]);
const EXPORT = any([
  'export\\w*', 'dump\\w*', 'download\\w*', 'extract\\w*', 'copy', 'copie\\w*', 'copying', 'scrap\\w*', 'mirror\\w*', 'clon\\w*', 'backup',
  'telecharg\\w*', 'copier', 'extrai\\w*', 'exportier\\w*', 'herunterlad\\w*', 'kopier\\w*', 'descarg\\w*', 'copiar', 'extraer', 'sacar', 'volcar', 'baixar', 'extrair',
]);
const WHOLE_THING = any(['table\\w*', 'tabla\\w*', 'tabel\\w*', 'base', 'banco', 'database\\w*', 'db', 'datenbank\\w*', 'liste', 'lista', 'list', 'schema']);
const PERSONAL = any(['personal', 'private', 'own', 'home', 'perso', 'personnel\\w*', 'privee?s?', 'privat\\w*', 'eigene[nrsm]?', 'propi[oa]s?', 'pessoa(?:l|is)', 'proprio']);
const STORE = any([
  'drive', 'gdrive', 'dropbox', 'onedrive', 'icloud', 'laptop\\w*', 'notebook', 'computer', 'pc', 'mac', 'macbook', 'machine', 'device', 'phone', 'usb\\w*', 'stick',
  'disk', 'disque', 'disco', 'festplatte', 'rechner', 'ordi', 'ordinateur\\w*', 'portable', 'portatil', 'computador', 'celular', 'telefone', 'e ?mail', 'mail', 'mailbox', 'inbox',
  'cloud', 'server', 'serveur', 'servidor', 'bucket', 'repos?', 'repositor\\w*', 'project', 'projet', 'projekt', 'proyecto', 'projeto', 'storage', 'supabase', 'github', 'gitlab',
]);
/** Media that leave the building in a pocket. */
const REMOVABLE = any([
  'usb (?:stick|key|drive)', 'usb\\w*stick', 'pen ?drive', 'thumb ?drive', 'memory stick', 'cle usb', 'usb schlussel', 'memoria usb', 'disco externo', 'hd externo',
  'disque externe', 'externe\\w* festplatte', 'external (?:hard )?(?:drive|disk)',
]);
const PERSONAL_SERVICE = any(['gmail', 'hotmail', 'yahoo', 'outlook com', 'icloud', 'protonmail', 'proton me', 'gmx', 'wetransfer', 'pastebin', 'mega nz']);
const OWN_PURPOSE = any([
  'side (?:project|gig|business)', 'my own (?:startup|company|business)', 'my (?:startup|new job|next job|side business)', 'for myself', 'meetup', 'projet perso\\w*',
  'eigene[sn]? (?:projekt|firma)', 'proyecto personal', 'projeto pessoal', `take ${gap(6)}home(?! page| screen| directory)`, 'chez moi', 'zu ?hause', 'heim(?:rechner|computer|pc|laptop)\\w*',
]);
const SEND = any([
  'send\\w*', 'sent', 'share\\w*', 'give', 'giving', 'hand over', 'hand it', 'forward\\w*', 'pass (?:it |them )?(?:on|along|over)', 'sell\\w*', 'upload\\w*', 'paste\\w*',
  'transfer\\w*', 'envoy\\w*', 'envoi\\w*', 'partag\\w*', 'donner', 'transmet\\w*', 'schick\\w*', 'senden', 'weitergeb\\w*', 'teilen', 'enviar\\w*', 'envie', 'envia',
  'compartir', 'compartilh\\w*', 'partilh\\w*', 'mandar\\w*', 'pasar\\w*', 'repass\\w*', 'entreg\\w*',
]);
const THIRD_PARTY = any([
  'partner\\w*', 'friend\\w*', 'recruiter\\w*', 'agency', 'agencies', 'vendor\\w*', 'contractor\\w*', 'consultant\\w*', 'third part\\w*', 'external\\w*', 'competitor\\w*',
  'journalist\\w*', 'chatgpt', 'openai', 'gpt', 'gemini', 'another company', 'other compan\\w*', 'otra empresa', 'outra empresa', 'autre (?:entreprise|societe)',
  'andere[nmr]? (?:firma|unternehmen)', 'ami', 'amie', 'amis', 'agence', 'prestataire\\w*', 'partenaire\\w*',
  'freund\\w*', 'agentur\\w*', 'extern\\w*', 'dritt\\w*', 'amig[oa]s?', 'agencia', 'proveedor\\w*', 'extern[oa]s?', 'tercer\\w*', 'terceir\\w*', 'fornecedor\\w*', 'parceir\\w*',
]);
const AGREEMENT = pattern(`\\b(?:dpa|nda|msa|baa|data processing agreement|${any(['under', 'per', 'with', 'selon', 'gemass', 'conforme', 'bajo', 'sob'])} ${gap(4)}${any([
  'contract', 'agreement', 'engagement', 'contrat', 'accord', 'vertrag', 'vereinbarung', 'contrato', 'acuerdo', 'acordo', 'convenio',
])})\\b`);
const AGREEMENT_MISSING = pattern(`\\b${any(['no', 'not', 'without', 'yet', 'still', 'pending', 'sans', 'pas', 'ohne', 'noch', 'kein\\w*', 'sin', 'aun', 'todavia', 'sem', 'ainda'])} ${gap(4)}${any([
  'contract', 'agreement', 'signed', 'dpa', 'nda', 'contrat', 'vertrag', 'contrato', 'acordo', 'acuerdo', 'firmad\\w*', 'assinad\\w*', 'signe\\w*', 'unterschrieben',
])}\\b|\\b${any(['contract', 'agreement', 'dpa', 'nda', 'contrat', 'vertrag', 'contrato', 'acordo', 'acuerdo'])} ${gap(4)}${any(['not', 'pending', 'draft\\w*', 'unsigned', 'en cours', 'entwurf', 'borrador', 'rascunho'])}\\b`);
const NO_DATA = pattern(`\\b(?:no data|without data|schema only|structure only|ddl only|sin datos|sans donnees|ohne daten|sem dados)\\b`);

const DESTROY_ALWAYS = any(['drop', 'drops', 'dropped', 'dropping', 'droppen', 'truncat\\w*', 'trunc', 'truncar', 'obliterat\\w*', 'destroy\\w*', 'detruire', 'vernicht\\w*']);
const DESTROY_UNLESS_BOUND = any(['wipe\\w*', 'nuke\\w*', 'purge\\w*', 'purgar', 'vider', 'videz', 'leeren', 'vaciar', 'esvaziar', 'clean out', 'clear out']);
const REMOVE = any([
  'delete\\w*', 'delet\\w*', 'remove\\w*', 'erase', 'erasing', 'clear', 'reset\\w*', 'update', 'updating', 'overwrite\\w*', 'set', 'supprim\\w*', 'effac\\w*', 'loschen', 'losche',
  'entfern\\w*', 'zurucksetz\\w*', 'borr\\w*', 'elimin\\w*', 'apag\\w*', 'exclu\\w*', 'deletar', 'remov\\w*', 'limp\\w*',
]);
const BOUND = pattern(`\\b(?:older than|newer than|before \\d|where|ids?|only|except|matching|listed|plus anciens?|alter als|mas antigu\\w*|mais antig\\w*|\\d+ (?:rows|records|entries|lines)|${ALL} ${gap(3)}${any([
  'test', 'tests', 'demo', 'qa', 'fake', 'dummy', 'duplicate\\w*', 'prueba\\w*', 'teste', 'essai\\w*', 'doublon\\w*', 'duplicad\\w*', 'duplikat\\w*',
])})\\b`);
const BACKED_UP = pattern(`\\b(?:backup\\w*|backed up|back up|snapshot\\w*|archiv\\w*|sauvegard\\w*|gesichert|sicherung\\w*|respald\\w*|copia de seguridad)\\b`);

const OFF = any([
  'disabl\\w*', 'turn\\w* off', 'switch\\w* off', 'shut\\w* off', 'stop', 'stopping', 'paus\\w*', 'bypass\\w*', 'skip\\w*', 'suppress\\w*', 'mute', 'silenc\\w*',
  'deactivat\\w*', 'desactiv\\w*', 'couper', 'arreter', 'deaktivier\\w*', 'abschalt\\w*', 'ausschalt\\w*', 'umgeh\\w*', 'deshabilit\\w*', 'desliga\\w*', 'desativ\\w*',
  'desabilit\\w*', 'apagar',
]);
const RECORD = any([
  'audit\\w*', 'log', 'logs', 'logging', 'pgaudit', 'trigger\\w*', 'alert\\w*', 'monitoring', 'journal\\w*', 'declencheur\\w*', 'protokoll\\w*', 'auditoria\\w*',
  'registro\\w*', 'disparador\\w*', 'gatilho\\w*', 'review', 'approval', 'revision', 'revisao', 'changelog', 'anderungsprotokoll\\w*', 'binlog',
]);
const LOG_SETTINGS = any(['log statement', 'log min\\w*', 'pgaudit\\w*', 'session replication role', 'sql log bin', 'general log']);
const HIDE = any([
  'quietly', 'discreetly', 'secretly', 'covertly', 'on the quiet', 'under the radar', 'off the record', 'between us', 'hush hush',
  `(?:without|w o) ${gap(2)}(?:anyone|anybody|noticing|knowing|telling|informing|notifying|pinging|asking|involving|logging|a trace)`,
  `(?:don t|dont|do not|please don t|no need to) ${gap(1)}(?:tell|inform|notify|log)`,
  'discretement', 'en douce', 'sans (?:le dire|en parler|que personne)', 'pas besoin d en parler', 'heimlich\\w*', 'unauffallig\\w*', `ohne ${gap(2)}aufsehen`,
  `nicht ${gap(3)}(?:protokoll\\w*|auftauch\\w*|erfahren)`, 'niemand\\w* (?:sagen|erzahlen)', 'discretamente', 'a escondidas', 'sin que nadie', 'sin avisar',
  'no (?:se lo )?(?:digas|cuentes)', 'sem que ninguem', 'sem avisar', 'nao (?:conte|conta|fale)',
]);

const STRONG_SECRET = any([
  'password hash\\w*', 'passwort hash\\w*', `hash\\w* (?:of|de|der|dos|das|des) ${gap(2)}(?:password\\w*|passwort\\w*|senha\\w*|contrasena\\w*|mots? de passe)`,
  'private keys?', 'cles? privee?s?', 'privat\\w* schlussel\\w*', 'clave\\w* privada\\w*', 'chave\\w* privada\\w*', 'api keys?', 'api tokens?', 'access tokens?',
  'refresh tokens?', 'auth tokens?', 'secret keys?', 'signing keys?', 'claves? api', 'chaves? api', 'cles? api', 'api schlussel\\w*', 'jetons? d acces',
  `${any(['secrets?', 'tokens?', 'passwords?', 'credentials?', 'sessions?'])} ${any(['table', 'tabelle', 'tabla', 'tabela'])}`,
  `${any(['table', 'tabelle', 'tabla', 'tabela'])} ${gap(1)}${any(['secrets', 'tokens', 'passwords', 'credentials', 'sessions'])}`,
]);
const SECRETS = any([
  'passwords', 'passwds', 'tokens', 'secrets', 'credentials', 'senhas', 'jetons', 'mots de passe', 'passworter', 'kennworter', 'contrasenas', 'secretos', 'segredos',
  'credenciais', 'credenciales', 'identifiants', 'zugangsdaten',
]);
const READ = any([
  'read\\w*', 'see', 'view\\w*', 'look\\w*', 'check\\w*', 'query\\w*', 'select\\w*', 'dump\\w*', 'get', 'extract\\w*', 'export\\w*', 'list\\w*', 'pull', 'show\\w*',
  'inspect\\w*', 'verif\\w*', 'access\\w*', 'consult\\w*', 'lire', 'voir', 'auslesen', 'lesen', 'anzeigen', 'ansehen', 'prufen', 'ver', 'revisar', 'leer', 'ler',
  'conferir', 'obtener', 'obter', 'copy',
]);
const STORED = any(['stored', 'saved', 'stockee?s?', 'gespeichert\\w*', 'almacenad\\w*', 'guardad\\w*', 'salv[oa]s', 'armazenad\\w*']);
const CHANGE = pattern(`\\b${any([
  'rotat\\w*', 'reset\\w*', 'revok\\w*', 'renew\\w*', 'regenerat\\w*', 'expir\\w*', 'invalidat\\w*', 'replac\\w*', 'chang\\w*', 'reinitialis\\w*', 'renouvel\\w*',
  'zurucksetz\\w*', 'erneuer\\w*', 'rotier\\w*', 'restablec\\w*', 'redefin\\w*', 'troc\\w*', 'rotacion\\w*',
])}\\b`);

const PRESSURE = any([
  'just approve', `approve ${gap(1)}(?:asap|now|quickly|fast|right away|immediately|pls|please)`, 'no time (?:for|to)', 'trust me', 'don t ask', 'no questions',
  '(?:i ll|will) explain later', 'explain later', `(?:ceo|cto|cfo|coo|vp|boss|director|board|management|exec\\w*|manager) ${gap(3)}(?:needs?|wants?|asked|waiting|demands?|requires?)`,
  `validez ${gap(1)}(?:vite|tout de suite)`, 'faites moi confiance', `(?:directeur|patron|chef|pdg|direction) ${gap(2)}(?:attend|veut|demande|exige)`,
  '(?:einfach|schnell) freigeben', 'vertrau mir', `(?:chef|vorstand|ceo|geschaftsfuhrer\\w*|leitung) ${gap(2)}(?:will|braucht|wartet|verlangt)`,
  'apruebalo ya', 'aprueba\\w* (?:ya|rapido)', 'confia en mi', `(?:jefe|director|ceo|gerente) ${gap(2)}(?:quiere|necesita|espera|pidio)`, 'luego te explico',
  'aprova (?:logo|rapido|ja)', 'confia em mim', `(?:chefe|diretor|ceo|gerente) ${gap(2)}(?:pediu|quer|precisa|espera)`, 'depois (?:eu )?explico',
]);
const INCIDENT = pattern(`\\b(?:inc ?\\d+|incident\\w*|outage\\w*|sev ?\\d|p[01]|on ?call|pager\\w*|panne\\w*|incidente\\w*|storung\\w*|ausfall\\w*|caida\\w*|queda\\w*|fora do ar|indisponib\\w*|(?:is|are|went|was|were|gone|been) down|down since|(?:site|service|payments?|checkout|api|app|db|database|server|gateway|login) (?:is |are )?down)\\b`);

/** Ticket references as people write them, in the text as written. */
const TICKET = /\b[A-Z][A-Z0-9]{1,9}(?:-[A-Z0-9]+)*-\d+\b|#\d{2,}\b|\b(?:INC|CHG|RITM|REQ|PRB|TASK)\d{5,}\b|https?:\/\/\S*(?:browse|issues?|pull|tickets?|jira|linear\.app|servicenow)\S*|\b(?:[Tt]icket|[Ii]ssue|[Cc]ase|[Cc]hamado|[Vv]organg)\s*#?\s*\d{3,}\b/;
const POINTS_TO_TICKET = pattern(`\\b(?:see|per|as per|in|details in|voir|siehe|ver|vide) (?:the )?(?:ticket|jira|issue|chamado)\\b`);

/** Words mended when one slip away (text-match): the longer key words of the patterns above. */
const TYPO_STEMS = [
  'export', 'download', 'extract', 'personal', 'private', 'laptop', 'dropbox', 'customer', 'employee', 'delete', 'remove', 'truncate', 'password', 'secret', 'token',
  'credential', 'disable', 'trigger', 'audit', 'quietly', 'table', 'users', 'approve', 'partner', 'recruiter', 'vendor', 'everything', 'entire', 'whole', 'session',
];

// ---- vague purpose --------------------------------------------------------------------------------

const STOP = new Set(`the a an to of for on in at it is are be this that these those my me i we our us you and or with from by as so do does did can could would should
will just some any all up out into le la les l d de des du un une et ou pour sur dans avec par ce cette mon ma mes je il est c der die das den dem und oder fur mit von
zu im am ein eine einen ist ich mein meine bitte el los las del al y para con por en es mi mis yo lo que se o os as do da dos um uma e com no na nos nas meu minha eu favor
s t pls plz please then also later vais every each whole entire full complete tout toute toutes tous alle aller alles ganze gesamte todo toda
todos todas tudo`.split(/\s+/));
/** Words that name no object a colleague could check. */
const GENERIC = new Set(`need needs needed access data check checking fix fixing fixes look looking stuff thing things something anything work working test tests
testing investigation investigate investigating maintenance debug debugging quick urgent asap prod production staging stg dev db database help issue issues problem task
read write admin query queries see ticket approve now today time asdf qwerty xxx foo bar lorem ipsum tbd todo idk whatever misc various general adjust update change
changes verif verify cosas revisar revision trucs truc zeug sachen coisas daten datos dados donnees anpassen ajustar ajuster prufen checken teste prueba pruebas testen
acces acceso acesso zugang verificar verifier mirar ver olhar voir schauen explain explico urgente dringend sofort einfach freigeben apruebalo aprueba aprova validez
valider vite luego logo depois approval ok okay yes no fine trust ya tout suite braucht brauche brauchen benotige besoin necesito necesita
preciso precisa`.split(/\s+/));

/** The generic words that are actions: with one object they make a purpose. */
const ACTIONS = new Set(`check checking checken fix fixing look looking investigate investigating debug debugging test testing adjust update change verify verif
revisar verificar ajustar ajuster anpassen prufen testen mirar ver olhar voir schauen read write query corriger corregir corrigir korrigieren`.split(/\s+/));

/**
 * Too little to check: no object named, or one with no action; the words of the findings (where the
 * data goes, the pressure) are no purpose either, so they are taken out first.
 */
function vagueness(folded: Folded, hasTicket: boolean, notPurpose: RegExp[]): { words: string } | undefined {
  const rest = notPurpose.reduce((text, found) => text.replace(new RegExp(found.source, 'g'), ' '), folded.flat).split(' ');
  const content = rest.filter((word) => word.length > 1 && !STOP.has(word) && !GENERIC.has(word));
  const specific = /\d/.test(folded.original) || TICKET.test(folded.original);
  // An action and its object ("ajustar estoque") is a purpose; a lone noun ("all users") is not.
  const acted = content.length === 1 && rest.some((word) => ACTIONS.has(word));
  if (content.length > 1 || acted || specific) return undefined;
  if (hasTicket && POINTS_TO_TICKET.test(folded.flat)) return undefined;
  return { words: folded.original.trim().slice(0, 60) };
}

// ---- the families, as patterns: the first that matches gives the evidence ---------------------------

/** Where the data goes, with the verb that sends it there when there is one ("copy it to my personal drive"). */
const MOVE = any([EXPORT, SEND, 'put', 'save', 'store', 'move', 'take', 'mettre', 'enregistrer', 'speichern', 'guardar', 'salvar', 'poner', 'colocar', 'subir', 'hochladen']);
const INTO = any(['to', 'on', 'onto', 'into', 'in', 'auf', 'an', 'sur', 'vers', 'dans', 'en', 'em', 'para', 'pro', 'a', 'nach', 'no', 'na']);
const MY = any(['my', 'mon', 'ma', 'mes', 'mein\\w*', 'mi', 'mis', 'meu', 'minha', 'o meu', 'a minha']);
const moved = (destination: string) => pattern(`\\b(?:${MOVE} ${gap(4)})?(?:${INTO} )?(?:${MY} )?${destination}(?: ${MOVE})?\\b`);

/** Exfiltration: data leaving the company, or everything taken out at once; a named agreement covers a third party. */
function exfiltrationPatterns(flat: string): RegExp[] {
  if (AGREEMENT.test(flat) && !AGREEMENT_MISSING.test(flat)) return [];
  return [
    moved(`${PERSONAL} ${gap(2)}${STORE}`),
    moved(`${STORE} ${gap(1)}${PERSONAL}`),
    moved(PERSONAL_SERVICE),
    moved(REMOVABLE),
    pattern(`\\b${OWN_PURPOSE}\\b`),
    pattern(`\\b${SEND} ${gap(10)}${THIRD_PARTY}\\b`),
    pattern(`\\b${THIRD_PARTY} ${gap(10)}${SEND}\\b`),
    pattern(`\\b${EXPORT} ${gap(3)}${ALL}\\b`),
    // "copiar la tabla de usuarios completa": the adjective after the noun.
    pattern(`\\b${EXPORT} ${gap(2)}${WHOLE_THING} ${gap(3)}${ALL}\\b`),
    pattern(`\\b${ALL} ${gap(2)}(?:dump|export|copy|kopie|copia|backup)\\b`),
    ...(NO_DATA.test(flat) ? [] : [pattern(`\\bdump\\w* ${gap(2)}(?:db|database\\w*|prod|production|table|tables|schema|datenbank\\w*|base|banco)\\b`)]),
  ];
}

const bulkPersonalDataPatterns = (personalData: boolean): RegExp[] => [
  pattern(`\\b${ALL} ${gap(4)}${PEOPLE}\\b`),
  pattern(`\\b(?:list|liste|lista) (?:of|with|de|des|der|dos|das|del) ${gap(2)}${PEOPLE}\\b`),
  pattern(`\\b${PEOPLE} (?:list|liste|lista)\\b`),
  ...(personalData ? [pattern(`\\b${EXPORT} ${gap(2)}${ALL}\\b`)] : []),
];

function destructionPatterns(flat: string): RegExp[] {
  const always = pattern(`\\b${DESTROY_ALWAYS}\\b`);
  if (BOUND.test(flat)) return [always];
  return [
    always,
    pattern(`\\b${DESTROY_UNLESS_BOUND}\\b`),
    pattern(`\\b${REMOVE} ${gap(3)}(?:${ALL}|everything|alles|todo|tudo|rien)\\b`),
    pattern(`\\b${ALL} ${gap(6)}${REMOVE}\\b`),
  ];
}

const EVASION_PATTERNS = [
  pattern(`\\b${OFF} ${gap(4)}${RECORD}\\b`),
  pattern(`\\b${RECORD} ${gap(4)}${OFF}\\b`),
  pattern(`\\bset ${gap(2)}${LOG_SETTINGS}\\b`),
  pattern(`\\b${HIDE}\\b`),
  pattern(`\\b${REMOVE} ${gap(6)}(?:audit\\w*|auditoria\\w*|anderungsprotokoll\\w*)\\b`),
  pattern(`\\b(?:audit\\w*|auditoria\\w*) ${gap(6)}${REMOVE}\\b`),
];

const CREDENTIAL_PATTERNS = [
  pattern(`\\b${STRONG_SECRET}\\b`),
  pattern(`\\b${READ} ${gap(5)}${SECRETS}\\b`),
  pattern(`\\b${SECRETS} ${gap(5)}${READ}\\b`),
  pattern(`\\b(?:${STORED} ${gap(1)}${SECRETS}|${SECRETS} ${gap(1)}${STORED})\\b`),
];

const PRESSURE_PATTERNS = [pattern(`\\b${PRESSURE}\\b`)];

/**
 * Reads a request's reason and ticket. `change`: the grant can change data (write or admin), which is
 * what destruction needs and what makes rotating a credential a change rather than a read of it.
 */
export function readPurpose(reason: string, ticket: string | undefined, { change, personalData }: { change: boolean; personalData: boolean }): PurposeReading {
  const texts = [
    { source: 'reason' as const, folded: foldText(reason, TYPO_STEMS) },
    ...(ticket ? [{ source: 'ticket' as const, folded: foldText(ticket, TYPO_STEMS) }] : []),
  ];
  const ticketRef = ticket?.trim() || TICKET.exec(reason)?.[0];
  const findings: Finding[] = [];
  const notPurpose: RegExp[] = [];
  for (const { source, folded } of texts) {
    const { flat } = folded;
    const families: Array<[IntentFamily, RegExp[]]> = [
      ['exfiltration', exfiltrationPatterns(flat)],
      ['bulkPersonalData', bulkPersonalDataPatterns(personalData)],
      ['destruction', change ? destructionPatterns(flat) : []],
      ['evasion', EVASION_PATTERNS],
      ['credentials', change && ticketRef && CHANGE.test(flat) ? [] : CREDENTIAL_PATTERNS],
      ['pressure', PRESSURE_PATTERNS],
    ];
    for (const [family, patterns] of families) {
      const words = patterns.map((candidate) => quote(folded, candidate)).find(Boolean);
      if (!words) continue;
      if (source === 'reason' && family !== 'bulkPersonalData') notPurpose.push(...patterns);
      if (!findings.some((finding) => finding.family === family)) findings.push({ family, words, source });
    }
  }
  const reasonText = texts[0]!.folded;
  const incident = texts.map(({ folded }) => quote(folded, INCIDENT)).find(Boolean);
  return {
    findings,
    vague: vagueness(reasonText, Boolean(ticketRef), notPurpose),
    ticket: ticketRef,
    incident,
    backedUp: texts.some(({ folded }) => BACKED_UP.test(folded.flat)),
  };
}
