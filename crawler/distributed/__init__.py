"""Scale-out: many worker processes, on many machines, crawling one shared store.

Redis carries the work (:mod:`.queue`: a Redis Stream of pages read by one consumer group) and the
politeness budget every worker shares (:mod:`.budget`); :mod:`.worker` runs the ordinary crawl loop
(:class:`crawler.runner.LoopCrawl`) as streamed runs of many pages (:mod:`.batch`), acknowledging each
page on its own. Why Redis Streams: docs/ARCHITECTURE.md.
"""
