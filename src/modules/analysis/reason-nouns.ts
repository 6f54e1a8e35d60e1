/**
 * The nouns people use for the tables of a business application, in the languages reasons are written
 * in (French, German, Spanish, Portuguese, Italian): a reason that says "Rechnung 55" or "pedido 7040"
 * names the same table as one that says "invoice 55" or "order 7040". Tables are named in English.
 */
const NOUNS: Record<string, string[]> = {
  order: ['commande', 'bestellung', 'auftrag', 'pedido', 'encomenda', 'ordine'],
  invoice: ['facture', 'rechnung', 'factura', 'fatura', 'fattura'],
  customer: ['client', 'kunde', 'kunden', 'cliente'],
  user: ['utilisateur', 'benutzer', 'nutzer', 'usuario', 'usuário', 'utente'],
  payment: ['paiement', 'zahlung', 'pago', 'pagamento'],
  product: ['produit', 'produkt', 'producto', 'produto', 'prodotto'],
  refund: ['remboursement', 'erstattung', 'rückerstattung', 'reembolso', 'rimborso'],
  subscription: ['abonnement', 'suscripción', 'suscripcion', 'assinatura', 'abbonamento'],
  address: ['adresse', 'dirección', 'direccion', 'endereço', 'endereco', 'indirizzo'],
  shipment: ['expédition', 'livraison', 'lieferung', 'versand', 'envío', 'envio', 'entrega', 'spedizione'],
  account: ['compte', 'konto', 'cuenta', 'conta', 'conto'],
  cart: ['panier', 'warenkorb', 'carrito', 'carrinho', 'carrello'],
  employee: ['employé', 'employe', 'mitarbeiter', 'empleado', 'funcionário', 'funcionario', 'dipendente'],
  contract: ['contrat', 'vertrag', 'contrato', 'contratto'],
  item: ['article', 'artikel', 'artículo', 'articulo', 'artigo', 'articolo', 'posten'],
  price: ['prix', 'preis', 'precio', 'preço', 'preco', 'prezzo'],
  plan: ['tarif', 'plano', 'piano'],
  coupon: ['gutschein', 'cupón', 'cupon', 'cupom', 'buono'],
};

const FOREIGN = new Map(Object.entries(NOUNS).flatMap(([english, words]) => words.map((word) => [word, english] as const)));

/** The reason (lower case) with the English noun added after each foreign one it uses, plurals too (`commandes`, `pedidos`, `Rechnungen`). */
export function withEnglishNouns(reason: string): string {
  return reason.replace(/\p{L}+/gu, (word) => {
    const english = FOREIGN.get(word) ?? FOREIGN.get(word.replace(/(?:en|n|es|s|e)$/u, '')) ?? FOREIGN.get(word.replace(/s$/u, ''));
    return english === undefined ? word : `${word} ${english}`;
  });
}
