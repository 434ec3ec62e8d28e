/** The front end, bundled into strings at build time (tsup plugin; a Vite plugin in tests). */
declare module 'virtual:studio-client' {
  export const script: string;
  export const style: string;
}
