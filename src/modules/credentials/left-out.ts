/** What a grant left out (objects the admin could not grant), as the card and the credentials message say it. */
export const leftOutSentence = (leftOut: string[] | null | undefined) => (leftOut && leftOut.length > 0 ? `Not included: ${leftOut.join('; ')}.` : '');
