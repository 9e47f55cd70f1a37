// Constants of DRBD 8.4's v08 on-disk meta-data (spec/metadata-v08.md). Pure data.

export const SECTOR_BYTES = 512;
/** Superblock, AL transaction and bitmap I/O unit. */
export const BLOCK_4K = 4096;

/** DRBD_MAGIC; the meta-data magics are small offsets from it. */
export const DRBD_MAGIC = 0x83740267;
export const MD_MAGIC_07 = 0x8374026a;
export const MD_MAGIC_08 = 0x8374026b;
export const MD_MAGIC_84_UNCLEAN = 0x8374026c;
export const MD_MAGIC_09 = 0x8374026d;
export const AL_MAGIC = 0x69cb65a2;

// The superblock flag bits (MDF) and UUID_JUST_CREATED are src/state's (attach.ts, uuids.ts):
// the state rules and the on-disk format share one definition.

/** Superblock sector offsets of external meta-data (AL right after the 4 KiB superblock). */
export const MD_4K_SECT = 8;
/** Fixed size of one indexed external meta-data slot: 128 MiB. */
export const MD_RESERVED_SECT_07 = 128 * 2048;

/** Bytes of data per bitmap bit. */
export const BM_BYTES_PER_BIT = 4096;
/** One AL extent covers 4 MiB = 1024 bitmap bits = 128 bitmap bytes. */
export const AL_EXTENT_SHIFT = 22;
export const BM_BYTES_PER_AL_EXTENT = 128;

/** AL transaction layout (4 KiB block). */
export const AL_UPDATES_PER_TRANSACTION = 64;
export const AL_CONTEXT_PER_TRANSACTION = 919;
export const AL_TR_UPDATE = 0;
export const AL_TR_INITIALIZED = 0xffff;
/** DRBD_AL_EXTENTS_MAX: slot numbers at or above this are ignored on replay. */
export const AL_EXTENTS_MAX = 65534;
/** al_nr_extents written by drbdmeta create-md (informational only). */
export const AL_NR_EXTENTS_CREATE_MD = 257;
/** Default AL geometry: 1 stripe of 8 × 4 KiB = 32 KiB. */
export const AL_STRIPES_DEFAULT = 1;
export const AL_STRIPE_SIZE_4K_DEFAULT = 8;

/** drbdmeta reads this much of the start of a device to look for file systems; smaller devices are refused. */
export const MIN_DEVICE_BYTES = 68 * 1024;
/** drbdmeta's limit: bitmaps for devices up to 1 PiB (2^41 sectors). */
export const MAX_DEVICE_SECTORS = 2 ** 41;
/** drbdmeta processes the bitmap in windows of this size; dump-md's run-length output depends on it. */
export const BM_CHUNK_BYTES = 32 * 1024 * 1024;
