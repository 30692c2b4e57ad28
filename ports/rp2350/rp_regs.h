/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rp_regs.h - the RP2350 register addresses and bits the port uses, each
 * group with the section of the port's fact sheet it comes from (the RP2350
 * bare-metal facts summarised in docs/rp2350.md; "spec §n" below). Nothing
 * but constants.
 */
#ifndef FUSEKEY_RP_REGS_H
#define FUSEKEY_RP_REGS_H

/* ---- Memory map (spec §1.1) ------------------------------------------------ */
#define RP_ROM_BASE 0x00000000u
#define RP_ROM_LOOKUP_PTR 0x00000016u /* u16: address of the lookup function */
#define RP_XIP_BASE 0x10000000u       /* cached XIP window of flash, CS 0 */
#define RP_FLASH_SIZE (4u * 1024u * 1024u) /* Pico 2 */
#define RP_SRAM_BASE 0x20000000u
#define RP_BOOTRAM_BASE 0x400E0000u
#define RP_BOOTRAM_STUB_BYTES 256u /* copied to SRAM at startup (spec §1.4, §5.3) */

/* ---- SYSINFO (spec §6) ----------------------------------------------------- */
#define RP_SYSINFO_CHIP_ID 0x40000000u
#define RP_SYSINFO_REVISION_SHIFT 28u

/* ---- RESETS (spec §2.1): 1 = held in reset ----------------------------------- */
#define RP_RESETS_BASE 0x40020000u
#define RP_RESETS_RESET (RP_RESETS_BASE + 0x00u)
#define RP_RESETS_RESET_DONE (RP_RESETS_BASE + 0x08u)
#define RP_RESET_IO_BANK0 (1u << 6)
#define RP_RESET_IO_QSPI (1u << 7)  /* never while executing from flash */
#define RP_RESET_PADS_BANK0 (1u << 9)
#define RP_RESET_PADS_QSPI (1u << 10) /* never while executing from flash */
#define RP_RESET_PLL_SYS (1u << 14)
#define RP_RESET_PLL_USB (1u << 15)
#define RP_RESET_TIMER0 (1u << 23)
#define RP_RESET_TRNG (1u << 25)
#define RP_RESET_USBCTRL (1u << 28)
#define RP_RESET_ALL 0x1FFFFFFFu

/* ---- CLOCKS (spec §2.3) ------------------------------------------------------ */
#define RP_CLOCKS_BASE 0x40010000u
#define RP_CLK_REF_CTRL (RP_CLOCKS_BASE + 0x30u)
#define RP_CLK_REF_DIV (RP_CLOCKS_BASE + 0x34u)
#define RP_CLK_REF_SELECTED (RP_CLOCKS_BASE + 0x38u)
#define RP_CLK_SYS_CTRL (RP_CLOCKS_BASE + 0x3Cu)
#define RP_CLK_SYS_DIV (RP_CLOCKS_BASE + 0x40u)
#define RP_CLK_SYS_SELECTED (RP_CLOCKS_BASE + 0x44u)
#define RP_CLK_PERI_CTRL (RP_CLOCKS_BASE + 0x48u)
#define RP_CLK_PERI_DIV (RP_CLOCKS_BASE + 0x4Cu)
#define RP_CLK_USB_CTRL (RP_CLOCKS_BASE + 0x60u)
#define RP_CLK_USB_DIV (RP_CLOCKS_BASE + 0x64u)
#define RP_CLK_SYS_RESUS_CTRL (RP_CLOCKS_BASE + 0x84u)
#define RP_CLK_REF_SRC_MASK 0x3u
#define RP_CLK_REF_SRC_ROSC 0u
#define RP_CLK_REF_SRC_XOSC 2u
#define RP_CLK_SYS_SRC_AUX 1u /* bit 0: 0 clk_ref, 1 aux */
#define RP_CLK_AUXSRC_SHIFT 5u
#define RP_CLK_AUXSRC_MASK (7u << 5)
#define RP_CLK_SYS_AUXSRC_PLL_SYS 0u
#define RP_CLK_SYS_AUXSRC_ROSC 2u /* A3 reset value of CLK_SYS_CTRL: SRC aux, AUXSRC ROSC */
#define RP_CLK_USB_AUXSRC_PLL_USB 0u
#define RP_CLK_PERI_AUXSRC_CLK_SYS 0u
#define RP_CLK_ENABLE (1u << 11)
#define RP_CLK_DIV_1 0x00010000u

/* ---- XOSC (spec §2.3, §2.4) -------------------------------------------------- */
#define RP_XOSC_BASE 0x40048000u
#define RP_XOSC_CTRL (RP_XOSC_BASE + 0x00u)
#define RP_XOSC_STATUS (RP_XOSC_BASE + 0x04u)
#define RP_XOSC_STARTUP (RP_XOSC_BASE + 0x0Cu)
#define RP_XOSC_CTRL_ENABLE_1_15MHZ 0x00FABAA0u /* ENABLE 0xFAB, FREQ_RANGE 0xAA0 */
#define RP_XOSC_STATUS_STABLE (1u << 31)
#define RP_XOSC_STARTUP_DELAY 282u /* ((12000 + 128) / 256) * 6, ~6 ms */

/* ---- PLLs (spec §2.2, §2.3) ------------------------------------------------- */
#define RP_PLL_SYS_BASE 0x40050000u
#define RP_PLL_USB_BASE 0x40058000u
#define RP_PLL_CS 0x00u
#define RP_PLL_PWR 0x04u
#define RP_PLL_FBDIV_INT 0x08u
#define RP_PLL_PRIM 0x0Cu
#define RP_PLL_CS_LOCK (1u << 31)
#define RP_PLL_PWR_PD (1u << 0)
#define RP_PLL_PWR_DSMPD (1u << 2)
#define RP_PLL_PWR_POSTDIVPD (1u << 3)
#define RP_PLL_PWR_VCOPD (1u << 5)
#define RP_PLL_SYS_FBDIV 125u      /* 12 MHz x 125 = 1500 MHz VCO */
#define RP_PLL_SYS_PRIM 0x00052000u /* /5 /2 = 150 MHz */
#define RP_PLL_USB_FBDIV 100u      /* 1200 MHz VCO */
#define RP_PLL_USB_PRIM 0x00055000u /* /5 /5 = 48 MHz */

/* ---- Tick generators (spec §2.5), clocked from clk_ref ----------------------- */
#define RP_TICKS_BASE 0x40108000u
#define RP_TICKS_TIMER0_CTRL (RP_TICKS_BASE + 0x18u)
#define RP_TICKS_TIMER0_CYCLES (RP_TICKS_BASE + 0x1Cu)
#define RP_TICKS_WATCHDOG_CTRL (RP_TICKS_BASE + 0x30u)
#define RP_TICKS_WATCHDOG_CYCLES (RP_TICKS_BASE + 0x34u)
#define RP_TICKS_CTRL_ENABLE (1u << 0)
#define RP_TICKS_CYCLES_1US 12u /* clk_ref = 12 MHz */

/* ---- TIMER0 (spec §2.5) ------------------------------------------------------ */
#define RP_TIMER0_BASE 0x400B0000u
#define RP_TIMER_TIMERAWH (RP_TIMER0_BASE + 0x24u)
#define RP_TIMER_TIMERAWL (RP_TIMER0_BASE + 0x28u)

/* ---- IO / pads / SIO (spec §8) ----------------------------------------------- */
#define RP_IO_BANK0_BASE 0x40028000u
#define RP_IO_GPIO_CTRL(n) (RP_IO_BANK0_BASE + 0x04u + 8u * (n))
#define RP_IO_FUNCSEL_SIO 5u
#define RP_PADS_BANK0_BASE 0x40038000u
#define RP_PADS_GPIO(n) (RP_PADS_BANK0_BASE + 0x04u + 4u * (n))
#define RP_PADS_IE (1u << 6)
#define RP_PADS_OD (1u << 7)
#define RP_PADS_ISO (1u << 8)
#define RP_IO_QSPI_SS_CTRL 0x4003001Cu
#define RP_IO_OEOVER_SHIFT 14u
#define RP_IO_OEOVER_MASK (3u << 14)
#define RP_IO_OEOVER_NORMAL 0u
#define RP_IO_OEOVER_DISABLE 2u
#define RP_SIO_BASE 0xD0000000u
#define RP_SIO_CPUID (RP_SIO_BASE + 0x00u)
#define RP_SIO_GPIO_HI_IN (RP_SIO_BASE + 0x08u)
#define RP_SIO_GPIO_OUT_SET (RP_SIO_BASE + 0x18u)
#define RP_SIO_GPIO_OUT_CLR (RP_SIO_BASE + 0x20u)
#define RP_SIO_GPIO_OE_SET (RP_SIO_BASE + 0x38u)
#define RP_SIO_HI_QSPI_CSN (1u << 27) /* 0 = BOOTSEL pressed */
/* The inter-core FIFOs (spec §10.1): each core sees its own RX and TX. */
#define RP_SIO_FIFO_ST (RP_SIO_BASE + 0x50u)
#define RP_SIO_FIFO_WR (RP_SIO_BASE + 0x54u)
#define RP_SIO_FIFO_RD (RP_SIO_BASE + 0x58u)
#define RP_SIO_FIFO_VLD (1u << 0) /* RX has data */
#define RP_SIO_FIFO_RDY (1u << 1) /* TX has room */
#define RP_SIO_FIFO_WOF (1u << 2) /* sticky: TX written while full (write to clear) */
#define RP_SIO_FIFO_ROE (1u << 3) /* sticky: RX read while empty (write to clear) */
#define RP_SIO_FIFO_DEPTH 4u

/* ---- PSM: core 1's forced reset (spec §10.2) ----------------------------------- */
#define RP_PSM_BASE 0x40018000u
#define RP_PSM_FRCE_OFF (RP_PSM_BASE + 0x04u)
#define RP_PSM_PROC1 (1u << 24)
#define RP_LED_GPIO 25u

/* ---- OTP (spec §6) ------------------------------------------------------------ */
#define RP_OTP_BASE 0x40120000u
#define RP_OTP_SW_LOCK(page) (RP_OTP_BASE + 4u * (page))
#define RP_OTP_SW_LOCK_ALL 0xFu  /* SEC and NSEC inaccessible */
#define RP_OTP_SW_LOCK_NSEC 0xCu /* NSEC inaccessible */

/* ---- TRNG (spec §7.1) --------------------------------------------------------- */
#define RP_TRNG_BASE 0x400F0000u
#define RP_TRNG_RNG_ICR (RP_TRNG_BASE + 0x108u)
#define RP_TRNG_CONFIG (RP_TRNG_BASE + 0x10Cu)
#define RP_TRNG_EHR_DATA0 (RP_TRNG_BASE + 0x114u)
#define RP_TRNG_EHR_WORDS 6u /* EHR_DATA0..5; reading EHR_DATA5 restarts sampling */
#define RP_TRNG_RND_SOURCE_ENABLE (RP_TRNG_BASE + 0x12Cu)
#define RP_TRNG_SAMPLE_CNT1 (RP_TRNG_BASE + 0x130u)
#define RP_TRNG_DEBUG_CONTROL (RP_TRNG_BASE + 0x138u)
#define RP_TRNG_SW_RESET (RP_TRNG_BASE + 0x140u)
#define RP_TRNG_BUSY (RP_TRNG_BASE + 0x1B8u)
#define RP_TRNG_DEBUG_BYPASS_ALL 0xEu /* von Neumann, CRNGT and autocorrelation bypassed */
#define RP_TRNG_ICR_ALL 0xFu
#define RP_TRNG_CONFIG_CHAIN_MASK 0x3u

/* ---- Watchdog (spec §9), used only to keep a panic's place --------------------- */
#define RP_WATCHDOG_BASE 0x400D8000u
#define RP_WATCHDOG_SCRATCH(n) (RP_WATCHDOG_BASE + 0x0Cu + 4u * (n))
#define RP_PANIC_MAGIC 0x50414E43u /* "PANC" in SCRATCH1, the line in SCRATCH0 */

/* ---- ROM functions (spec §5.1, §9) --------------------------------------------- */
#define RP_ROM_CODE(c1, c2) ((uint32_t)(c1) | ((uint32_t)(c2) << 8))
#define RP_ROM_FUNC_CONNECT_INTERNAL_FLASH RP_ROM_CODE('I', 'F')
#define RP_ROM_FUNC_FLASH_EXIT_XIP RP_ROM_CODE('E', 'X')
#define RP_ROM_FUNC_FLASH_RANGE_ERASE RP_ROM_CODE('R', 'E')
#define RP_ROM_FUNC_FLASH_RANGE_PROGRAM RP_ROM_CODE('R', 'P')
#define RP_ROM_FUNC_FLASH_FLUSH_CACHE RP_ROM_CODE('F', 'C')
#define RP_ROM_FUNC_FLASH_ENTER_CMD_XIP RP_ROM_CODE('C', 'X')
#define RP_ROM_FUNC_OTP_ACCESS RP_ROM_CODE('O', 'A')
#define RP_ROM_FUNC_REBOOT RP_ROM_CODE('R', 'B')
#define RP_ROM_FUNC_GET_SYS_INFO RP_ROM_CODE('G', 'S')
#define RP_RT_FLAG_FUNC_ARM_SEC 0x0004u
#define RP_ROM_OTP_CMD_WRITE 0x10000u
#define RP_ROM_OTP_CMD_ECC 0x20000u
#define RP_ROM_ERR_NOT_PERMITTED (-4)
#define RP_ROM_ERR_INVALID_ARG (-5)
#define RP_ROM_ERR_BAD_ALIGNMENT (-11)
#define RP_ROM_ERR_UNSUPPORTED_MODIFICATION (-18)
#define RP_ROM_REBOOT_NORMAL 0x0u
#define RP_ROM_REBOOT_BOOTSEL 0x2u
#define RP_ROM_REBOOT_NO_RETURN 0x100u
#define RP_ROM_REBOOT_DELAY_MS 10u
#define RP_ROM_BOOTSEL_ACTIVITY_VALID 0x20u /* p0: p1 is the activity LED's GPIO */
#define RP_ROM_SYS_INFO_CHIP_INFO 0x0001u
#define RP_ROM_SYS_INFO_WORDS 9u
#define RP_FLASH_SECTOR_ERASE_CMD 0x20u /* 4 KiB sector erase */

/* ---- Cortex-M33 system registers (PPB; no atomic aliases) ---------------------- */
#define RP_PPB_SHCSR 0xE000ED24u
#define RP_SHCSR_FAULTS_ENABLE (0xFu << 16) /* MemManage, BusFault, UsageFault, SecureFault */
#define RP_PPB_CPACR 0xE000ED88u
#define RP_CPACR_CP10_CP11 0x00F00000u
#define RP_PPB_VTOR 0xE000ED08u
#define RP_PPB_SYST_CSR 0xE000E010u /* SysTick: ENABLE 0, TICKINT 1, CLKSOURCE 2 (cpu) */
#define RP_PPB_SYST_RVR 0xE000E014u
#define RP_PPB_SYST_CVR 0xE000E018u
#define RP_SYST_CSR_RUN_CPU_IRQ 0x7u
#define RP_CLK_SYS_HZ 150000000u

#endif /* FUSEKEY_RP_REGS_H */
