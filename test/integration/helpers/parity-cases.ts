// The bean-example cases of the parity suite: every Beancount 2.3.5 builtin plugin, with a
// config that makes it act on a bean-example ledger, and the snippets (test/fixtures/parity)
// that give it something to act on where bean-example has nothing.
import type { PluginLine } from './parity-ledgers.js';

/**
 * What the plugin does to this ledger when Beancount runs it in-process, against the same
 * ledger without its plugin lines (a case that does nothing would compare nothing):
 *  - `directives`: the directives differ;  `errors`: the errors differ;
 *  - `crash`: the plugin raised, and Beancount reported "Error applying plugin".
 */
export type Effect = 'directives' | 'errors' | 'crash';

export interface ExampleCase {
  id: string;
  plugins: PluginLine[];
  snippets?: string[];
  /** Files (from test/fixtures/parity) copied next to the ledger. */
  sideFiles?: string[];
  expect: Effect[];
}

export interface CaseContext {
  /** The directory the case's ledger is written to (absolute). */
  dir: string;
  /** A #trip- tag the bean-example ledger uses. */
  tripTag: string;
}

const p = (name: string) => `beancount.plugins.${name}`;

export function exampleCases(ctx: CaseContext): ExampleCase[] {
  const t = ['trades.beancount'];
  const conv = ['conversions.beancount'];
  return [
    { id: 'auto', plugins: [{ name: p('auto') }], snippets: conv, expect: ['directives'] },
    { id: 'auto_accounts', plugins: [{ name: p('auto_accounts') }], snippets: ['single-posting.beancount'], expect: ['directives', 'errors'] },
    {
      id: 'book_conversions',
      plugins: [{ name: p('book_conversions'), config: 'Assets:Crypto:BTC,Income:Crypto:PnL' }],
      snippets: conv,
      expect: ['directives'],
    },
    { id: 'check_average_cost', plugins: [{ name: p('check_average_cost'), config: '0.01' }], snippets: t, expect: ['errors'] },
    { id: 'check_closing', plugins: [{ name: p('check_closing') }], snippets: t, expect: ['directives', 'errors'] },
    { id: 'check_commodity', plugins: [{ name: p('check_commodity') }], snippets: conv, expect: ['errors'] },
    { id: 'coherent_cost', plugins: [{ name: p('coherent_cost') }], snippets: t, expect: ['errors'] },
    { id: 'commodity_attr', plugins: [{ name: p('commodity_attr'), config: "{'name': None, 'export': None}" }], expect: ['errors'] },
    { id: 'currency_accounts', plugins: [{ name: p('currency_accounts'), config: 'Equity:CurrencyAccounts' }], snippets: conv, expect: ['directives'] },
    {
      id: 'divert_expenses',
      plugins: [{ name: p('divert_expenses'), config: `{'tag': '${ctx.tripTag}', 'account': 'Expenses:Vacation'}` }],
      expect: ['directives', 'errors'],
    },
    { id: 'exclude_tag', plugins: [{ name: p('exclude_tag') }], snippets: ['virtual.beancount'], expect: ['directives'] },
    {
      id: 'fill_account',
      plugins: [{ name: p('fill_account'), config: 'Equity:Opening-Balances' }],
      snippets: ['single-posting.beancount'],
      expect: ['directives', 'errors'],
    },
    {
      id: 'fix_payees',
      plugins: [{ name: p('fix_payees'), config: "[('Chipotle', 'D:chichipotle'), ('Edison Power', 'A:Expenses:Home:Electricity')]" }],
      expect: ['directives'],
    },
    { id: 'forecast', plugins: [{ name: p('forecast') }], snippets: ['forecast.beancount'], expect: ['directives'] },
    { id: 'implicit_prices', plugins: [{ name: p('implicit_prices') }], expect: ['directives'] },
    {
      id: 'ira_contribs',
      plugins: [
        {
          name: p('ira_contribs'),
          config:
            "{'currency': 'IRAUSD', 'flag': 'M', 'accounts': {'Income:US:Babble:Match401k': ('Assets:US:Federal:PreTax401k', 'Expenses:Taxes:Y{year}:US:Federal:PreTax401k')}}",
        },
      ],
      expect: ['directives', 'errors'],
    },
    { id: 'leafonly', plugins: [{ name: p('leafonly') }], snippets: conv, expect: ['errors'] },
    { id: 'mark_unverified', plugins: [{ name: p('mark_unverified') }], expect: ['directives'] },
    {
      id: 'merge_meta',
      plugins: [{ name: p('merge_meta'), config: `${ctx.dir}/merge-meta-secrets.beancount` }],
      sideFiles: ['merge-meta-secrets.beancount'],
      expect: ['directives'],
    },
    // the snippet twice: every directive in it has a duplicate
    { id: 'noduplicates', plugins: [{ name: p('noduplicates') }], snippets: ['virtual.beancount', 'virtual.beancount'], expect: ['errors'] },
    { id: 'nounused', plugins: [{ name: p('nounused') }], snippets: ['virtual.beancount'], expect: ['errors'] },
    { id: 'onecommodity', plugins: [{ name: p('onecommodity') }], snippets: t, expect: ['errors'] },
    { id: 'pedantic', plugins: [{ name: p('pedantic') }], snippets: conv, expect: ['errors'] },
    { id: 'sellgains', plugins: [{ name: p('sellgains') }], snippets: t, expect: ['errors'] },
    { id: 'split_expenses', plugins: [{ name: p('split_expenses'), config: 'Martin Caroline' }], expect: ['directives'] },
    { id: 'tag_pending', plugins: [{ name: p('tag_pending') }], snippets: t, expect: ['directives'] },
    { id: 'unique_prices', plugins: [{ name: p('unique_prices') }], snippets: t, expect: ['errors'] },
    { id: 'unrealized', plugins: [{ name: p('unrealized'), config: 'Unrealized' }], expect: ['directives'] },
    // plugins that raise: Beancount turns the exception into an error and goes on
    { id: 'crash: exclude_tag given a config it does not take', plugins: [{ name: p('exclude_tag'), config: 'virtual' }], expect: ['crash'] },
    { id: 'crash: split_expenses without its config', plugins: [{ name: p('split_expenses') }], expect: ['crash'] },
    {
      id: 'crash: divert_expenses with a config that is not a dict',
      plugins: [{ name: p('divert_expenses'), config: "['kid', 'Expenses:Child']" }],
      expect: ['crash'],
    },
  ];
}

/** The five plugins of the speed target (bench/ledger-vs-beancount), chained in one ledger. */
export const BENCH_PLUGINS: PluginLine[] = ['implicit_prices', 'check_commodity', 'unique_prices', 'noduplicates', 'coherent_cost'].map((n) => ({ name: p(n) }));
