// The Nexmark data model: an online auction where people register, open auctions and bid.
// One stream carries all three kinds of event, told apart by `kind` (as the reference's single
// generator source carries an event type).

export interface Person {
  readonly kind: 'person'
  readonly id: number
  readonly name: string
  readonly emailAddress: string
  readonly creditCard: string
  readonly city: string
  readonly state: string
  /** Event time, ms since the epoch. */
  readonly dateTime: number
  readonly extra: string
}

export interface Auction {
  readonly kind: 'auction'
  readonly id: number
  readonly itemName: string
  readonly description: string
  readonly initialBid: number
  readonly reserve: number
  readonly dateTime: number
  /** When bidding closes, ms since the epoch. */
  readonly expires: number
  /** A person's id. */
  readonly seller: number
  readonly category: number
  readonly extra: string
}

export interface Bid {
  readonly kind: 'bid'
  /** An auction's id. */
  readonly auction: number
  /** A person's id. */
  readonly bidder: number
  /** In cents. */
  readonly price: number
  readonly channel: string
  readonly url: string
  readonly dateTime: number
  readonly extra: string
}

export type NexmarkEvent = Person | Auction | Bid

export const isBid = (e: NexmarkEvent): e is Bid => e.kind === 'bid'
export const isAuction = (e: NexmarkEvent): e is Auction => e.kind === 'auction'
export const isPerson = (e: NexmarkEvent): e is Person => e.kind === 'person'
