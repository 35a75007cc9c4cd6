/** The messages between the game page and the room. */
export type Player = { id: string; name: string; color: string; x: number; y: number };

export type ClientMessage =
  { type: "move"; dx: number; dy: number } | { type: "rename"; name: string };

export type ServerMessage =
  | { type: "welcome"; you: string; players: Player[] }
  | { type: "joined"; player: Player }
  | { type: "moved"; id: string; x: number; y: number }
  | { type: "renamed"; id: string; name: string }
  | { type: "left"; id: string };

export const WORLD = { width: 20, height: 12 } as const;
